import Foundation
import Testing
import VesselTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `vessel backup`, `restore` and `fsck` (issue 34) with the built binary against live servers.
@Suite(.serialized) struct BackupRestoreEndToEndTests {
    /// What the pushing clients were told, and whether the backup had begun by then.
    actor Ledger {
        struct Pushed: Sendable {
            var model: String
            var version: Int
            var folder: String
            var beforeBackup: Bool
        }
        private(set) var pushed: [Pushed] = []
        private(set) var backupBegan = false
        private(set) var stopped = false
        private(set) var failures: [String] = []

        func record(model: String, version: Int, folder: String) { pushed.append(Pushed(model: model, version: version, folder: folder, beforeBackup: !backupBegan)) }
        func beginBackup() { backupBegan = true }
        func stop() { stopped = true }
        func fail(_ text: String) { failures.append(text) }
    }

    @Test func aBackupTakenWhileClientsPushAndPromoteRestoresIntoAServingRegistry() async throws {
        let server = try await ServeProcess()
        let ledger = Ledger()
        let shared = TempDir.make("vessel-shared")
        try TempDir.writeFile("\(shared)/shared.bin", count: 1 << 20, seed: 99)

        // 8 clients: each pushes its own model again and again and promotes each version to staging.
        let clients = Task {
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<8 {
                    group.addTask {
                        var round = 0
                        while !(await ledger.stopped) {
                            round += 1
                            let folder = TempDir.make("vessel-bk-\(client)-\(round)")
                            do {
                                try TempDir.writeFile("\(folder)/weights.bin", count: 100_000 + round * 1000 + client, seed: UInt64(client * 1000 + round))
                                try FileManager.default.copyItem(atPath: "\(shared)/shared.bin", toPath: "\(folder)/shared.bin")
                            } catch { await ledger.fail("writing \(folder): \(error)"); return }
                            let model = "acme/client\(client)"
                            let push = try? await CLI.run(["push", folder, "--model", model, "--json"], environment: server.env)
                            guard let push, push.status == 0, let version = (try? push.json())?["version"] as? Int else {
                                await ledger.fail("push \(model): \(push?.stderr ?? "did not run")")
                                return
                            }
                            await ledger.record(model: model, version: version, folder: folder)
                            let promote = try? await CLI.run(["promote", model, String(version), "--to", "staging", "--json"], environment: server.env)
                            if promote?.status != 0 { await ledger.fail("promote \(model):\(version): \(promote?.stderr ?? "did not run")") }
                        }
                    }
                }
            }
        }
        // Let every client get some versions in, then back up while they keep going.
        for _ in 0..<600 where await ledger.pushed.count < 16 { try await Task.sleep(for: .milliseconds(100)) }
        let backupDir = TempDir.make("vessel-backup")
        await ledger.beginBackup()
        let backup = try await CLI.run(["backup", "--to", backupDir, "--json"], environment: server.env)
        // A few more rounds after the backup, then stop.
        let countAfter = await ledger.pushed.count
        for _ in 0..<600 where await ledger.pushed.count < countAfter + 8 { try await Task.sleep(for: .milliseconds(100)) }
        await ledger.stop()
        await clients.value
        let failures = await ledger.failures
        #expect(failures.isEmpty, "\(failures)")
        #expect(backup.status == 0, "\(backup.stdout) \(backup.stderr)")
        let manifest = try backup.json()
        #expect(manifest["metadata_included"] as? Bool == true && manifest["blobs_included"] as? Bool == true)
        #expect((manifest["missing_blobs"] as? [Any])?.isEmpty == true)
        let before = await ledger.pushed.filter(\.beforeBackup)
        #expect(before.count >= 16)

        // Restore into a new directory and serve it.
        let restored = TempDir.make("vessel-restored") + "/data"
        let restore = try await CLI.run(["restore", "--from", backupDir, "--data-dir", restored, "--json"])
        #expect(restore.status == 0, "\(restore.stdout) \(restore.stderr)")
        #expect((try restore.json()["audit"] as? [String: Any])?["ok"] as? Bool == true)
        let second = try await ServeProcess(dataDir: restored)
        #expect(try await CLI.run(["audit", "verify"], environment: second.env).status == 0)

        // Every version acknowledged before the backup began pulls byte-identical.
        let cache = TempDir.make("vessel-bk-cache")
        for pushed in before {
            let target = TempDir.make("vessel-bk-pull") + "/out"
            let pull = try await CLI.run(["pull", "\(pushed.model):\(pushed.version)", target, "--cache-dir", cache, "--json"], environment: second.env)
            #expect(pull.status == 0, "\(pushed.model):\(pushed.version): \(pull.stderr)")
            for file in ["weights.bin", "shared.bin"] {
                #expect(FileManager.default.contentsEqual(atPath: "\(pushed.folder)/\(file)", andPath: "\(target)/\(file)"), "\(pushed.model):\(pushed.version) \(file)")
            }
        }

        // The restored audit log is the live one's first audit_seq entries, and every alias is
        // where the last alias entry of that log put it.
        let liveAudit = try Self.auditItems(try await CLI.run(["audit", "--json"], environment: server.env))
        let restoredAudit = try Self.auditItems(try await CLI.run(["audit", "--json"], environment: second.env))
        let seq = try #require(manifest["audit_seq"] as? Int)
        #expect(restoredAudit.count == seq)
        #expect(restoredAudit.map { $0["hash"] as? String } == liveAudit.prefix(seq).map { $0["hash"] as? String })
        var expectedAliases: [String: String] = [:]
        for entry in restoredAudit {
            guard let action = entry["action"] as? String, action.hasPrefix("alias."), let target = entry["target"] as? String else { continue }
            expectedAliases[target] = entry["after"] as? String
        }
        for client in 0..<8 {
            let model = "acme/client\(client)"
            let aliases = try await CLI.run(["alias", "list", model, "--json"], environment: second.env)
            let items = (try? aliases.json()["items"] as? [[String: Any]]) ?? []
            let staging = items.first { $0["name"] as? String == "staging" || $0["alias"] as? String == "staging" }
            let expected = expectedAliases["alias/\(model)@staging"]
            #expect((staging?["version"] as? Int).map(String.init) == expected, "\(model): \(aliases.stdout)")
        }

        // A second backup of an unchanged registry copies no blob bytes.
        let again = TempDir.make("vessel-backup2")
        let first = try await CLI.run(["backup", "--to", again, "--json"], environment: server.env)
        #expect(first.status == 0, "\(first.stderr)")
        #expect((try first.json()["bytes_copied"] as? Int ?? 0) > 0)
        let repeated = try await CLI.run(["backup", "--to", again, "--json"], environment: server.env)
        #expect(repeated.status == 0, "\(repeated.stderr)")
        #expect(try repeated.json()["bytes_copied"] as? Int == 0)
        #expect(try repeated.json()["blobs_copied"] as? Int == 0)
    }

    @Test func fsckFindsAFlippedBitAndADeletedBlobAndQuarantineStopsPulls() async throws {
        let server = try await ServeProcess()
        let shared = TempDir.make("vessel-fsck-a")
        try TempDir.writeFile("\(shared)/weights.bin", count: 300_000, seed: 1)
        try TempDir.writeFile("\(shared)/config.json", count: 500, seed: 2)
        let other = TempDir.make("vessel-fsck-b")
        try FileManager.default.copyItem(atPath: "\(shared)/weights.bin", toPath: "\(other)/weights.bin")
        try TempDir.writeFile("\(other)/extra.bin", count: 200_000, seed: 3)
        let lone = TempDir.make("vessel-fsck-c")
        try TempDir.writeFile("\(lone)/lone.bin", count: 50_000, seed: 4)
        for (folder, model) in [(shared, "acme/a"), (other, "acme/b"), (lone, "acme/c")] {
            let push = try await CLI.run(["push", folder, "--model", model, "--alias", "staging"], environment: server.env)
            #expect(push.status == 0, "\(push.stderr)")
        }
        let clean = try await CLI.run(["fsck", "--rehash", "--json"], environment: server.env)
        #expect(clean.status == 0, "\(clean.stdout) \(clean.stderr)")

        // Flip one bit of the blob acme/a:1 and acme/b:1 share; delete acme/c's blob.
        let weights = try Self.blobPath(server.dataDir, digestOf: "\(shared)/weights.bin")
        chmod(weights, 0o600)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        bytes[123_456] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: weights))
        let loneBlob = try Self.blobPath(server.dataDir, digestOf: "\(lone)/lone.bin")
        try FileManager.default.removeItem(atPath: loneBlob)

        // Without --rehash only the deleted blob shows; with it, the flipped bit too, naming both versions.
        let quick = try await CLI.run(["fsck", "--json"], environment: server.env)
        #expect(quick.status == 1)
        #expect(Set(try Self.findings(quick).map { "\($0.model):\($0.version) \($0.problem)" }) == ["acme/c:1 missing"])
        for arguments in [["fsck", "--rehash", "--jobs", "3", "--json"], ["fsck", "--data-dir", server.dataDir, "--rehash", "--json"]] {
            let full = try await CLI.run(arguments, environment: server.env)
            #expect(full.status == 1, "\(arguments): \(full.stderr)")
            let found = try Self.findings(full)
            #expect(Set(found.map { "\($0.model):\($0.version) \($0.path) \($0.problem)" })
                    == ["acme/a:1 weights.bin digest_mismatch", "acme/b:1 weights.bin digest_mismatch", "acme/c:1 lone.bin missing"], "\(arguments)")
        }

        // Quarantine: pulls of the three versions stop; an audit entry records each.
        let quarantine = try await CLI.run(["fsck", "--rehash", "--quarantine-damaged", "--json"], environment: server.env)
        #expect(quarantine.status == 1)
        #expect(Set(try quarantine.json()["quarantined"] as? [String] ?? []) == ["acme/a:1", "acme/b:1", "acme/c:1"])
        for reference in ["acme/a@staging", "acme/b:1", "acme/c:1"] {
            let pull = try await CLI.run(["pull", reference, TempDir.make("vessel-fsck-pull") + "/out", "--cache-dir", TempDir.make("vessel-fsck-cache"), "--json"], environment: server.env)
            #expect(pull.status == 1, "\(reference): \(pull.stdout)")
            #expect(try pull.errorCode() == "quarantined")
        }
        let audit = try Self.auditItems(try await CLI.run(["audit", "--json"], environment: server.env))
        #expect(audit.filter { $0["action"] as? String == "version.quarantine" }.count == 3)
        #expect(try await CLI.run(["audit", "verify"], environment: server.env).status == 0)
        // A second run quarantines nothing more.
        let again = try await CLI.run(["fsck", "--rehash", "--quarantine-damaged", "--json"], environment: server.env)
        #expect((try again.json()["quarantined"] as? [String])?.isEmpty == true)
    }

    @Test func restoreRefusesANonEmptyDirectoryAndFsckAnUnreadableStore() async throws {
        let server = try await ServeProcess()
        let model = TempDir.make("vessel-restore-m")
        try TempDir.writeFile("\(model)/w.bin", count: 10_000, seed: 5)
        #expect(try await CLI.run(["push", model, "--model", "acme/r"], environment: server.env).status == 0)
        let backupDir = TempDir.make("vessel-restore-b")
        #expect(try await CLI.run(["backup", "--to", backupDir, "--data-dir", server.dataDir, "--json"]).status == 0)
        let busy = TempDir.make("vessel-restore-busy")
        _ = FileManager.default.createFile(atPath: "\(busy)/keep.txt", contents: Data("x".utf8))
        let refused = try await CLI.run(["restore", "--from", backupDir, "--data-dir", busy, "--json"])
        #expect(refused.status == 5, "\(refused.stdout)")
        #expect(try refused.errorCode() == "already_exists")
        #expect(FileManager.default.fileExists(atPath: "\(busy)/keep.txt"))
        #expect(!FileManager.default.fileExists(atPath: "\(busy)/metadata.sqlite"))

        let empty = TempDir.make("vessel-restore-empty")
        let unreadable = try await CLI.run(["fsck", "--data-dir", empty, "--json"])
        #expect(unreadable.status == 2, "\(unreadable.stdout)")
    }

    /// A backup taken while a sweep runs (issue 34 with issue 26): the sweep removes blobs of a
    /// deleted version while the backup copies; the restored registry serves the kept version
    /// byte-identical and its fsck (with `--rehash`) and audit chain are clean.
    @Test func aBackupTakenWhileASweepRunsRestoresToACleanRegistry() async throws {
        let server = try await ServeProcess(arguments: ["--gc-grace", "0"])
        defer { server.stop() }
        let env = server.env
        let keep = TempDir.make("vessel-bkgc-keep"), doomed = TempDir.make("vessel-bkgc-doomed")
        try TempDir.writeFile("\(keep)/weights.bin", count: 500_000, seed: 7)
        let kept = try GarbageCollectionCrashTests.writeFiles(keep, prefix: "keep", count: 30) + ["\(keep)/weights.bin"]
        for path in kept.prefix(10) { try FileManager.default.copyItem(atPath: path, toPath: "\(doomed)/\((path as NSString).lastPathComponent)") }
        let doomedOwn = Set(try await GarbageCollectionCrashTests.sha256(try GarbageCollectionCrashTests.writeFiles(doomed, prefix: "doomed", count: 2000)).values)
        for (folder, model, alias) in [(keep, "acme/keep", ["--alias", "staging"]), (doomed, "acme/doomed", [])] {
            let push = try await CLI.run(["push", folder, "--model", model, "--json"] + alias, environment: env)
            #expect(push.status == 0, "\(model): \(push.stderr)")
        }
        let delete = try await CLI.run(["version", "delete", "acme/doomed:1", "--json"], environment: env)
        #expect(delete.status == 0, "\(delete.stdout) \(delete.stderr)")
        let before = GarbageCollectionCrashTests.storedBlobs(server.dataDir).count

        // The sweep starts; once it has removed objects, the backup begins while it goes on.
        let ledger = Ledger()
        let sweep = Task {
            let result = try await CLI.run(["gc", "run", "--json"], environment: env)
            await ledger.stop()
            return result
        }
        defer { sweep.cancel() }
        let deadline = ContinuousClock.now + .seconds(180)
        while ContinuousClock.now < deadline, GarbageCollectionCrashTests.storedBlobs(server.dataDir).count == before, !(await ledger.stopped) {
            try await Task.sleep(for: .milliseconds(2))
        }
        let overlapped = !(await ledger.stopped)
        let backupDir = TempDir.make("vessel-bkgc-backup")
        let backup = try await CLI.run(["backup", "--to", backupDir, "--json"], environment: env)
        let swept = try await sweep.value
        #expect(overlapped, "the sweep had finished before the backup began")
        #expect(backup.status == 0, "\(backup.stdout) \(backup.stderr)")
        #expect((try backup.json()["missing_blobs"] as? [Any])?.isEmpty == true, "\(backup.stdout)")
        #expect(swept.status == 0, "\(swept.stdout) \(swept.stderr)")
        #expect((try swept.json()["blobs"] as? Int ?? 0) > 0, "\(swept.stdout)")

        let restored = TempDir.make("vessel-bkgc-restored") + "/data"
        let restore = try await CLI.run(["restore", "--from", backupDir, "--data-dir", restored, "--json"])
        #expect(restore.status == 0, "\(restore.stdout) \(restore.stderr)")
        let second = try await ServeProcess(dataDir: restored)
        defer { second.stop() }
        let fsck = try await CLI.run(["fsck", "--rehash", "--json"], environment: second.env)
        #expect(fsck.status == 0, "\(fsck.stdout) \(fsck.stderr)")
        #expect((try fsck.json()["findings"] as? [Any])?.isEmpty == true)
        // Orphans are only blobs of the deleted version (rows the snapshot still had); the restored
        // registry's own sweep takes them.
        let orphans = Set(((try fsck.json()["orphans"] as? [[String: Any]]) ?? []).compactMap { ($0["digest"] as? String)?.dropFirst(7).description })
        #expect(orphans.isSubset(of: doomedOwn))
        #expect(try await CLI.run(["audit", "verify"], environment: second.env).status == 0)
        let target = TempDir.make("vessel-bkgc-pull") + "/out"
        let pull = try await CLI.run(["pull", "acme/keep@staging", target, "--cache-dir", TempDir.make("vessel-bkgc-cache"), "--json"], environment: second.env)
        #expect(pull.status == 0, "\(pull.stderr)")
        for path in kept {
            let name = (path as NSString).lastPathComponent
            #expect(FileManager.default.contentsEqual(atPath: path, andPath: "\(target)/\(name)"), "pulled \(name)")
        }
    }

    struct Found {
        var model: String
        var version: Int
        var path: String
        var problem: String
    }

    static func findings(_ result: CLI.Result) throws -> [Found] {
        try (result.json()["findings"] as? [[String: Any]] ?? []).map {
            Found(model: $0["model"] as? String ?? "", version: $0["version"] as? Int ?? 0, path: $0["path"] as? String ?? "", problem: $0["problem"] as? String ?? "")
        }
    }

    static func auditItems(_ result: CLI.Result) throws -> [[String: Any]] {
        try result.json()["items"] as? [[String: Any]] ?? []
    }

    /// The stored blob file of the file at `path` (named by its SHA-256).
    static func blobPath(_ dataDir: String, digestOf path: String) throws -> String {
        let hex = try runSHA256(path)
        return "\(dataDir)/blobs/sha256/\(hex.prefix(2))/\(hex)"
    }

    static func runSHA256(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }
}
