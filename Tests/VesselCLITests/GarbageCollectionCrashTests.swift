import Foundation
import Testing
import VesselTestSupport

/// `kill -9` of `vessel serve` in the middle of a sweep (issue 26): afterwards every blob a
/// live version references is still stored byte-identical, the restarted server serves the kept
/// version, and the next run removes what the killed one left (rows without the sweep finished,
/// objects without rows) so that nothing unreferenced remains.
@Suite(.serialized) struct GarbageCollectionCrashTests {
    /// The SHA-256 of each file, hex, by path (one `sha256sum` for all of them).
    static func sha256(_ paths: [String]) async throws -> [String: String] {
        var out: [String: String] = [:]
        var start = 0
        while start < paths.count {
            let batch = Array(paths[start..<min(paths.count, start + 500)])
            let result = try await runProcess("/usr/bin/sha256sum", batch, timeLimit: .seconds(120))
            guard result.status == 0 else { throw TestFailure("sha256sum: \(result.stderr)") }
            for line in result.stdout.split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { continue }
                out[String(parts[1].drop { $0 == " " || $0 == "*" })] = String(parts[0])
            }
            start += 500
        }
        return out
    }

    /// The blob files of a filesystem store, by digest hex.
    static func storedBlobs(_ dataDir: String) -> Set<String> {
        var found = Set<String>()
        let root = "\(dataDir)/blobs/sha256"
        for folder in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)")) ?? [] where name.utf8.count == 64 {
                found.insert(name)
            }
        }
        return found
    }

    static func writeFiles(_ folder: String, prefix: String, count: Int) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return try (0..<count).map { index in
            let path = "\(folder)/\(prefix)-\(index).bin"
            try Data("\(prefix) \(index) \(UUID().uuidString)\n".utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
    }

    @Test func aSweepKilledMidwayLosesNothingInUseAndTheNextRunFinishes() async throws {
        let server = try await ServeProcess(arguments: ["--gc-grace", "0"])
        defer { server.stop() }
        let env = server.env
        // acme/keep: 40 files of its own and 20 it shares with acme/doomed, whose version 1 also
        // holds 2,400 files of its own. Deleting acme/doomed:1 leaves 2,400 blobs to sweep,
        // about five pages of the sweep's 500.
        let keep = TempDir.make("vessel-gc-kill-keep")
        let doomed = TempDir.make("vessel-gc-kill-doomed")
        var kept = try Self.writeFiles(keep, prefix: "keep", count: 40)
        for path in try Self.writeFiles(keep, prefix: "shared", count: 20) {
            kept.append(path)
            try FileManager.default.copyItem(atPath: path, toPath: "\(doomed)/\((path as NSString).lastPathComponent)")
        }
        let doomedOwn = try Self.writeFiles(doomed, prefix: "doomed", count: 2400)
        let keptDigests = try await Self.sha256(kept)
        let doomedDigests = Set(try await Self.sha256(doomedOwn).values)
        #expect(keptDigests.count == 60 && doomedDigests.count == 2400)

        for (folder, model) in [(keep, "acme/keep"), (doomed, "acme/doomed")] {
            let push = try await CLI.run(["push", folder, "--model", model, "--json"], environment: env)
            #expect(push.status == 0, "\(model): \(push.stderr)")
        }
        let delete = try await CLI.run(["version", "delete", "acme/doomed:1", "--json"], environment: env)
        #expect(delete.status == 0, "\(delete.stdout) \(delete.stderr)")
        let before = Self.storedBlobs(server.dataDir)
        #expect(doomedDigests.isSubset(of: before) && Set(keptDigests.values).isSubset(of: before))

        // Start a sweep through the CLI and kill the server once the first page's objects are
        // gone: the rows of the next page are being removed then.
        let run = Task { try await CLI.run(["gc", "run", "--json"], environment: env) }
        defer { run.cancel() }
        let deadline = ContinuousClock.now + .seconds(180)
        var killed = false
        while ContinuousClock.now < deadline {
            if Self.storedBlobs(server.dataDir).count < before.count {
                server.kill()
                killed = true
                break
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        run.cancel()
        #expect(killed, "the sweep removed no object within 180 s")
        guard killed else { return }
        let afterKill = Self.storedBlobs(server.dataDir)
        let left = doomedDigests.intersection(afterKill).count
        let leftBytes = try doomedDigests.intersection(afterKill).reduce(0) { total, hex in
            total + ((try FileManager.default.attributesOfItem(atPath: "\(server.dataDir)/blobs/sha256/\(hex.prefix(2))/\(hex)")[.size] as? Int) ?? 0)
        }
        #expect(left > 0 && left < doomedDigests.count, "the kill was not mid-sweep: \(left) of \(doomedDigests.count) doomed blobs left")

        // Nothing in use is gone: every kept file's blob is stored with its bytes.
        for (path, hex) in keptDigests {
            let stored = "\(server.dataDir)/blobs/sha256/\(hex.prefix(2))/\(hex)"
            #expect(FileManager.default.contentsEqual(atPath: path, andPath: stored), "\(path) after the kill")
        }

        // Restarted, it serves the kept version byte-identical.
        try await server.start()
        let target = TempDir.make("vessel-gc-kill-pull") + "/out"
        let pull = try await CLI.run(["pull", "acme/keep:1", target, "--cache-dir", TempDir.make("vessel-gc-kill-cache"), "--json"], environment: env)
        #expect(pull.status == 0, "\(pull.stderr)")
        for path in kept {
            let name = (path as NSString).lastPathComponent
            #expect(FileManager.default.contentsEqual(atPath: path, andPath: "\(target)/\(name)"), "pulled \(name)")
        }

        // The next run finishes the job: no doomed blob is left, every kept one is, fsck finds
        // no orphan. The killed run's `gc-run` lease holds every run off until it expires (90 s
        // after its last renewal), so this waits for it, generously.
        var finished: ProcessResult?
        let again = ContinuousClock.now + .seconds(240)
        while ContinuousClock.now < again {
            let result = try await CLI.run(["gc", "run", "--json"], environment: env)
            if result.status == 0 { finished = result; break }
            #expect(result.status == 5, "\(result.stdout) \(result.stderr)")
            try await Task.sleep(for: .seconds(2))
        }
        #expect(finished != nil, "no garbage collection run got the lease within 240 s")
        let remaining = Self.storedBlobs(server.dataDir)
        #expect(remaining.intersection(doomedDigests).isEmpty, "\(remaining.intersection(doomedDigests).count) doomed blobs left")
        #expect(remaining == Set(keptDigests.values))
        let fsck = try await CLI.run(["fsck", "--rehash", "--json"], environment: env)
        #expect(fsck.status == 0, "\(fsck.stdout) \(fsck.stderr)")
        #expect((try fsck.json()["orphans"] as? [Any])?.isEmpty == true, "\(fsck.stdout)")
        let status = try await CLI.run(["gc", "status", "--json"], environment: env).json()
        let runs = (status["items"] as? [[String: Any]]) ?? []
        let swept = runs.compactMap { $0["blobs"] as? Int }.reduce(0, +)
        let freed = runs.compactMap { $0["bytes"] as? Int }.reduce(0, +)
        // The runs after the kill count every object they removed: those whose sweep the killed
        // run began (row gone, object not), orphans and rows it had not reached.
        #expect(swept == left && freed == leftBytes, "the runs after the kill counted \(swept) blobs, \(freed) bytes; \(left) doomed blobs of \(leftBytes) bytes were left: \(status)")
    }
}
