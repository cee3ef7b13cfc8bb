import Foundation
import Testing
import VesselCore
import VesselTestSupport
@testable import VesselClient
@testable import VesselStorage

#if canImport(Glibc)
import Glibc
#endif

/// Two `vessel serve` replicas that share nothing on disk: one PostgreSQL database and one S3
/// bucket. A replica killed in the middle of an upload session leaves nothing visible, and the
/// session continues and completes through the other, which verifies the blob by re-reading it.
@Suite(.serialized) struct TwoReplicaS3Tests {
    @Test(.enabled(if: VesselExecutable.path != nil && TwoReplicaTests.postgresURL != nil && S3ServeTests.s3 != nil,
                   "needs the vessel executable, VESSEL_TEST_POSTGRES_URL and a real S3 server"))
    func replicaKilledMidUploadResumesThroughTheOther() async throws {
        guard let pg = TwoReplicaTests.postgresURL, let s3 = S3ServeTests.s3 else { return }
        let storage = try S3ServeTests.isolatedURL(s3.url)
        let location = try S3Location(parsing: storage)
        let env = ["AWS_ACCESS_KEY_ID": s3.access, "AWS_SECRET_ACCESS_KEY": s3.secret]
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-s3rep-\(UUID().uuidString)").path
        defer {
            for path in ["\(base)-a", "\(base)-b", "\(base)-a.log", "\(base)-b.log", "\(base)-src"] { try? FileManager.default.removeItem(atPath: path) }
        }
        let (probe, _) = try await S3BlobStore.open(location, credentials: S3Credentials(accessKey: s3.access, secretKey: s3.secret))
        try await TwoReplicaTests.withDatabase(pg) { url in
            let arguments = ["--database", url, "--storage", storage, "--upload-chunk-size", "5MiB"]
            let a = try await ServeProcess(dataDir: "\(base)-a", arguments: arguments, log: "\(base)-a.log", environment: env)
            let b = try await ServeProcess(dataDir: "\(base)-b", arguments: arguments, log: "\(base)-b.log", environment: env)
            defer { a.stop(); b.stop() }
            let bytes = UploadSessionAPITests.payload(mebibytes: 32)
            let digest = APIHarness.digest(bytes)
            let size = UInt64(bytes.count)
            try FileManager.default.createDirectory(atPath: "\(base)-src", withIntermediateDirectories: true)
            let file = "\(base)-src/big.bin"
            _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
            let model = try ModelName("acme/replica-kill")

            let apiA = a.client()
            let session: UploadSessionInfo
            do {
                session = try await apiA.startUpload(model, digest: digest, size: size)
                #expect(session.chunkSize == 5 << 20 && session.chunks == 7)
                for index in 0..<3 {
                    _ = try await apiA.putChunk(model, id: session.uploadId, index: index, path: file, offset: UInt64(index * (5 << 20)), length: 5 << 20)
                }
            } catch {
                await apiA.shutdown()
                throw error
            }
            await apiA.shutdown()
            a.kill()

            // Nothing is visible: no blob object, and the parts wait in the session's upload.
            #expect(try await probe.size(of: digest) == nil)
            let apiB = b.client()
            do {
                let status = try await apiB.uploadStatus(model, id: session.uploadId)
                #expect(status.received == [0, 1, 2] && status.nextChunk == 3)
                let sent = try await ChunkedUploader(api: apiB).upload(model: model, digest: digest, size: size, path: file)
                #expect(sent == size - UInt64(3 * (5 << 20)))
                #expect(try await probe.size(of: digest) == size)
                #expect(try await probe.sessionIDs().isEmpty)
                let pulled = try await probe.withLocalFile(digest) { path in FileManager.default.contents(atPath: path) }
                #expect(pulled == Data(bytes))
            } catch {
                await apiB.shutdown()
                throw error
            }
            await apiB.shutdown()
        }
        for version in try await probe.client.listObjectVersions(prefix: location.key("")) {
            try? await probe.client.deleteObject(version.key, versionID: version.versionID)
        }
        await probe.shutdown()
    }

    /// The issue's scenario on one database and one bucket: a model pushed through replica A
    /// is pulled through replica B, then 50 `vessel alias set --expect-current 1` processes,
    /// spread over both replicas and each aiming at a different version, race for `prod`:
    /// exactly one exits 0, the other 49 exit 5, and the audit chain verifies with one move.
    @Test(.enabled(if: VesselExecutable.path != nil && TwoReplicaTests.postgresURL != nil && S3ServeTests.s3 != nil,
                   "needs the vessel executable, VESSEL_TEST_POSTGRES_URL and a real S3 server"))
    func sharedBucketPushPullAndFiftyRacingMoves() async throws {
        guard let pg = TwoReplicaTests.postgresURL, let s3 = S3ServeTests.s3 else { return }
        let storage = try S3ServeTests.isolatedURL(s3.url)
        let location = try S3Location(parsing: storage)
        let env = ["AWS_ACCESS_KEY_ID": s3.access, "AWS_SECRET_ACCESS_KEY": s3.secret]
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-s3race-\(UUID().uuidString)").path
        defer {
            for path in ["\(base)-a", "\(base)-b", "\(base)-a.log", "\(base)-b.log", "\(base)-src", "\(base)-cache", "\(base)-out"] {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        let (probe, _) = try await S3BlobStore.open(location, credentials: S3Credentials(accessKey: s3.access, secretKey: s3.secret))
        try await TwoReplicaTests.withDatabase(pg) { url in
            let arguments = ["--database", url, "--storage", storage]
            async let startA = ServeProcess(dataDir: "\(base)-a", arguments: arguments, log: "\(base)-a.log", environment: env)
            async let startB = ServeProcess(dataDir: "\(base)-b", arguments: arguments, log: "\(base)-b.log", environment: env)
            let (a, b) = try await (startA, startB)
            defer { a.stop(); b.stop() }
            let apiA = a.client(), apiB = b.client()
            let model = try ModelName("acme/race")
            let prod = try AliasName("prod")
            let racers = 50
            do {
                // Version 1 (3 MiB, pulled back through B) and versions 2...51, one per racer.
                try FileManager.default.createDirectory(atPath: "\(base)-src", withIntermediateDirectories: true)
                let first = UploadSessionAPITests.payload(mebibytes: 3)
                _ = FileManager.default.createFile(atPath: "\(base)-src/w.bin", contents: Data(first))
                let pushed = try await Pusher(api: apiA).push(folder: "\(base)-src", model: model, alias: prod, description: nil)
                #expect(pushed.version == 1)
                let cache = try BlobCache(root: "\(base)-cache")
                _ = try await Puller(api: apiB, cache: cache).pull(try Reference("acme/race@prod"), into: "\(base)-out", verifyCache: false, allowQuarantined: false)
                #expect(FileManager.default.contents(atPath: "\(base)-out/w.bin") == Data(first))
                for index in 0..<racers {
                    _ = FileManager.default.createFile(atPath: "\(base)-src/w.bin", contents: Data("candidate \(index)".utf8))
                    let api = index % 2 == 0 ? apiA : apiB
                    let result = try await Pusher(api: api).push(folder: "\(base)-src", model: model, alias: nil, description: nil)
                    #expect(result.version == index + 2)
                }
            } catch {
                await apiA.shutdown()
                await apiB.shutdown()
                throw error
            }
            await apiA.shutdown()
            await apiB.shutdown()

            let statuses = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
                for index in 0..<racers {
                    let server = index % 2 == 0 ? a : b
                    group.addTask {
                        try await CLI.run(["alias", "set", "acme/race", "prod", String(index + 2), "--expect-current", "1"], environment: server.env)
                    }
                }
                return try await group.reduce(into: [ProcessResult]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0.status == 0 }.count == 1)
            let losers = statuses.filter { $0.status == 5 }
            #expect(losers.count == racers - 1, "exit statuses: \(statuses.map(\.status))")
            #expect(losers.allSatisfy { $0.stderr.contains("precondition_failed") || $0.stderr.contains("expect") }, "\(losers.first?.stderr ?? "")")

            let verify = try await CLI.run(["audit", "verify"], environment: b.env)
            #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
            let audit = try await CLI.run(["audit", "--model", "acme/race", "--json"], environment: a.env)
            let object = try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any]
            let moves = (object?["items"] as? [[String: Any]] ?? []).filter { ($0["action"] as? String) == "alias.set" && ($0["before"] as? String) == "1" }
            #expect(moves.count == 1, "\(audit.stdout.prefix(2000))")
        }
        for version in try await probe.client.listObjectVersions(prefix: location.key("")) {
            try? await probe.client.deleteObject(version.key, versionID: version.versionID)
        }
        await probe.shutdown()
    }
}
