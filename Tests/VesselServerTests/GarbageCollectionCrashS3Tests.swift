import Crypto
import Foundation
import NIOCore
import Testing
import VesselCore
import VesselTestSupport
@testable import VesselStorage

/// `kill -9` of `vessel serve` in the middle of a sweep on RGW, in a versioned bucket of its own
/// (issue 26; the filesystem run is `GarbageCollectionCrashTests`): afterwards every object a
/// live version references is still in the bucket byte-identical, the restarted server serves
/// the kept version, and the next run removes what the killed one left and counts it; no object
/// version or delete marker of a swept key remains.
@Suite(.serialized) struct GarbageCollectionCrashS3Tests {
    static func writeFiles(_ folder: String, prefix: String, count: Int) throws -> [String: VesselCore.Digest] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var files: [String: VesselCore.Digest] = [:]
        for index in 0..<count {
            let path = "\(folder)/\(prefix)-\(index).bin"
            let bytes = Array("\(prefix) \(index) \(UUID().uuidString)\n".utf8)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            files[path] = try VesselCore.Digest(hex: SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
        }
        return files
    }

    static func bytes(_ store: S3BlobStore, _ digest: VesselCore.Digest) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in try await store.read(digest, range: nil) { bytes += Array(buffer: chunk) }
        return bytes
    }

    @Test(.enabled(if: S3ServeTests.s3 != nil, "needs a real S3 server (VESSEL_TEST_S3_URL)"), .timeLimit(.minutes(15)))
    func aSweepKilledMidwayOnAVersionedRGWBucketLosesNothingInUseAndTheNextRunFinishes() async throws {
        guard let s3 = S3ServeTests.s3 else { return }
        var location = try S3Location(parsing: s3.url)
        location.bucket = "vessel-gckill-\(UInt32.random(in: 0...UInt32.max))"
        location.prefix = ""
        let (probe, _) = try await S3BlobStore.open(location, credentials: S3Credentials(accessKey: s3.access, secretKey: s3.secret), createBucket: true)
        do {
            try await probe.client.setBucketVersioning("Enabled")
            try await Self.crash(probe, storage: "s3://\(location.bucket)?endpoint=\(location.endpoint)&region=\(location.region)",
                                 environment: ["AWS_ACCESS_KEY_ID": s3.access, "AWS_SECRET_ACCESS_KEY": s3.secret])
        } catch {
            Issue.record("\(error)")
        }
        let leftovers = (try? await probe.client.listObjectVersions(prefix: "")) ?? []
        for batch in stride(from: 0, to: leftovers.count, by: S3Client.deleteBatchLimit) {
            _ = try? await probe.client.deleteObjects(Array(leftovers[batch..<min(batch + S3Client.deleteBatchLimit, leftovers.count)]))
        }
        try? await probe.client.deleteBucket()
        await probe.shutdown()
    }

    static func crash(_ probe: S3BlobStore, storage: String, environment: [String: String]) async throws {
        let server = try await ServeProcess(arguments: ["--gc-grace", "0", "--storage", storage], environment: environment)
        defer { server.stop() }
        let env = server.env
        // acme/keep: 40 files of its own and 20 it shares with acme/doomed, whose version 1 also
        // holds 1,500 files of its own: three pages of the sweep's 500 once it is deleted.
        let keepDir = TempDir.make("vessel-gc-s3kill-keep")
        let doomedDir = TempDir.make("vessel-gc-s3kill-doomed")
        var kept = try Self.writeFiles(keepDir, prefix: "keep", count: 40)
        for (path, digest) in try Self.writeFiles(keepDir, prefix: "shared", count: 20) {
            kept[path] = digest
            try FileManager.default.copyItem(atPath: path, toPath: "\(doomedDir)/\((path as NSString).lastPathComponent)")
        }
        let doomed = Set(try Self.writeFiles(doomedDir, prefix: "doomed", count: 1500).values)
        let keptDigests = Set(kept.values)
        #expect(keptDigests.count == 60 && doomed.count == 1500)
        for (folder, model) in [(keepDir, "acme/keep"), (doomedDir, "acme/doomed")] {
            let push = try await CLI.run(["push", folder, "--model", model, "--json"], environment: env)
            #expect(push.status == 0, "\(model): \(push.stderr)")
        }
        let delete = try await CLI.run(["version", "delete", "acme/doomed:1", "--json"], environment: env)
        #expect(delete.status == 0, "\(delete.stdout) \(delete.stderr)")
        let before = Set(try await probe.listBlobs().map(\.digest))
        #expect(doomed.isSubset(of: before) && keptDigests.isSubset(of: before))

        // Start a sweep through the CLI and kill the server once the first page's objects are
        // gone from the bucket: the rows of the next page are being removed then.
        let run = Task { try await CLI.run(["gc", "run", "--json"], environment: env) }
        defer { run.cancel() }
        let deadline = ContinuousClock.now + .seconds(300)
        var killed = false
        while ContinuousClock.now < deadline {
            if try await probe.listBlobs().count < before.count {
                server.kill()
                killed = true
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        run.cancel()
        #expect(killed, "the sweep removed no object within 300 s")
        guard killed else { return }
        // A DeleteObjects request the server had sent is carried out by RGW after the kill:
        // what is left is read once the listing stopped changing.
        var afterKill = try await probe.listBlobs()
        let settle = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < settle {
            try await Task.sleep(for: .seconds(2))
            let again = try await probe.listBlobs()
            if again.count == afterKill.count { break }
            afterKill = again
        }
        let leftObjects = afterKill.filter { doomed.contains($0.digest) }
        let left = leftObjects.count
        let leftBytes = leftObjects.reduce(0) { $0 + Int($1.size) }
        #expect(left > 0 && left < doomed.count, "the kill was not mid-sweep: \(left) of \(doomed.count) doomed blobs left")

        // Nothing in use is gone: every kept file's object is in the bucket with its bytes.
        for (path, digest) in kept {
            let stored = try await Self.bytes(probe, digest)
            #expect(stored == Array(try Data(contentsOf: URL(fileURLWithPath: path))), "\(path) after the kill")
        }

        // Restarted, it serves the kept version byte-identical.
        try await server.start()
        let target = TempDir.make("vessel-gc-s3kill-pull") + "/out"
        let pull = try await CLI.run(["pull", "acme/keep:1", target, "--cache-dir", TempDir.make("vessel-gc-s3kill-cache"), "--json"], environment: env)
        #expect(pull.status == 0, "\(pull.stderr)")
        for path in kept.keys {
            let name = (path as NSString).lastPathComponent
            #expect(FileManager.default.contentsEqual(atPath: path, andPath: "\(target)/\(name)"), "pulled \(name)")
        }

        // The next run finishes the job once the killed run's `gc-run` lease expired (90 s after
        // its last renewal): waited for generously.
        var finished: ProcessResult?
        let again = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < again {
            let result = try await CLI.run(["gc", "run", "--json"], environment: env)
            if result.status == 0 { finished = result; break }
            #expect(result.status == 5, "\(result.stdout) \(result.stderr)")
            try await Task.sleep(for: .seconds(2))
        }
        #expect(finished != nil, "no garbage collection run got the lease within 300 s")
        let remaining = Set(try await probe.listBlobs().map(\.digest))
        #expect(remaining.intersection(doomed).isEmpty, "\(remaining.intersection(doomed).count) doomed blobs left")
        #expect(remaining == keptDigests)
        // No object version or delete marker of a swept key: exactly one version of each kept key.
        let versions = try await probe.client.listObjectVersions(prefix: "blobs/")
        let keptKeys = Set(keptDigests.map { probe.blobKey($0) })
        let strays = versions.filter { !keptKeys.contains($0.key) }
        #expect(strays.isEmpty, "\(strays.count) object versions of swept keys remain: \(strays.prefix(3))")
        #expect(Set(versions.map(\.key)) == keptKeys && versions.count == keptKeys.count, "\(versions.count) versions of \(keptKeys.count) kept keys")

        let fsck = try await CLI.run(["fsck", "--json"], environment: env)
        #expect(fsck.status == 0, "\(fsck.stdout) \(fsck.stderr)")
        #expect((try fsck.json()["orphans"] as? [Any])?.isEmpty == true, "\(fsck.stdout)")
        // The runs after the kill count every object they removed.
        let status = try await CLI.run(["gc", "status", "--json"], environment: env).json()
        let runs = (status["items"] as? [[String: Any]]) ?? []
        let swept = runs.compactMap { $0["blobs"] as? Int }.reduce(0, +)
        let freed = runs.compactMap { $0["bytes"] as? Int }.reduce(0, +)
        #expect(swept == left && freed == leftBytes, "the runs after the kill counted \(swept) blobs, \(freed) bytes; \(left) doomed blobs of \(leftBytes) bytes were left: \(status)")
    }
}
