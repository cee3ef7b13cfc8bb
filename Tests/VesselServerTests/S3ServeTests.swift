import AsyncHTTPClient
import Foundation
import Testing
import VesselCore
import VesselTestSupport
@testable import VesselClient
@testable import VesselServer
@testable import VesselStorage

/// The server on S3 storage: start-up checks, push/pull through the bucket, and
/// `--storage-redirect`. Needs a real S3 server (`VESSEL_TEST_S3_URL`, `VESSEL_TEST_S3_ACCESS_KEY`,
/// `VESSEL_TEST_S3_SECRET_KEY`; scripts/services.sh start-rgw) except where noted.
@Suite struct S3ServeTests {
    static var s3: (url: String, access: String, secret: String)? {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["VESSEL_TEST_S3_URL"], let access = env["VESSEL_TEST_S3_ACCESS_KEY"], let secret = env["VESSEL_TEST_S3_SECRET_KEY"] else { return nil }
        return (url, access, secret)
    }

    /// The storage URL with a prefix of its own, so tests never see each other's blobs.
    static func isolatedURL(_ url: String) throws -> String {
        var location = try S3Location(parsing: url)
        location.prefix = location.key("serve-\(UUID().uuidString.lowercased())")
        return "s3://\(location.bucket)/\(location.prefix)?endpoint=\(location.endpoint)&region=\(location.region)"
    }

    /// Runs `vessel serve` expecting it to stop at start: its exit code and output (-1 when it
    /// was still running after 120 s — a hang, however busy the machine is — and is killed).
    /// How long the stop took is not checked: a loaded CI machine once stalled every process
    /// for 30 s.
    static func serveFailing(_ arguments: [String], environment extra: [String: String]) async throws -> (Int32, String) {
        let executable = try VesselExecutable.require()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-s3fail-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let arguments = ["serve", "--data-dir", dir, "--port", String(CLI.freePort())] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["VESSEL_ADMIN_TOKEN"] = APIHarness.adminToken
        for (key, value) in extra { environment[key] = value }
        // The process and a 120 s timer race; the loser is cancelled (a cancelled run kills
        // the process).
        return try await withThrowingTaskGroup(of: (Int32, String)?.self) { group in
            group.addTask { [environment] in
                let result = try await runProcess(executable, arguments, environment: environment)
                return (result.status, result.stdout + result.stderr)
            }
            group.addTask {
                try await Task.sleep(for: .seconds(120))
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next().flatMap { $0 } ?? (-1, "still running after 120 s")
        }
    }

    @Test(.enabled(if: VesselExecutable.path != nil, "needs the vessel executable built next to the tests"))
    func unreachableStorageStopsTheStart() async throws {
        let (code, output) = try await Self.serveFailing(
            ["--storage", "s3://vessel?endpoint=http://127.0.0.1:9&region=us-east-1"],
            environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"]
        )
        #expect(code == 6 && output.contains("cannot reach object storage"), "\(output)")
        let (missing, text) = try await Self.serveFailing(["--storage", "s3://vessel?endpoint=http://127.0.0.1:9"], environment: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""])
        #expect(missing == 2 && text.contains("AWS_ACCESS_KEY_ID"), "\(text)")
    }

    @Test(.enabled(if: VesselExecutable.path != nil && s3 != nil, "needs the vessel executable and a real S3 server"))
    func wrongCredentialsAndMissingBucketsStopTheStart() async throws {
        let s3 = try #require(Self.s3)
        let (code, output) = try await Self.serveFailing(["--storage", s3.url], environment: ["AWS_ACCESS_KEY_ID": s3.access, "AWS_SECRET_ACCESS_KEY": "wrong-secret"])
        #expect(code == 6 && output.contains("SignatureDoesNotMatch") && output.contains("AWS_SECRET_ACCESS_KEY"), "\(output)")
        #expect(!output.contains("wrong-secret"))
        var location = try S3Location(parsing: s3.url)
        location.bucket = "vessel-absent-\(UInt32.random(in: 0...UInt32.max))"
        let absent = "s3://\(location.bucket)?endpoint=\(location.endpoint)&region=\(location.region)"
        let (missing, text) = try await Self.serveFailing(["--storage", absent], environment: ["AWS_ACCESS_KEY_ID": s3.access, "AWS_SECRET_ACCESS_KEY": s3.secret])
        #expect(missing == 3 && text.contains("--create-bucket"), "\(text)")
    }

    @Test(.enabled(if: VesselExecutable.path != nil && s3 != nil, "needs the vessel executable and a real S3 server"))
    func createBucketStartsAndWarnsWhenVersioningIsOff() async throws {
        let s3 = try #require(Self.s3)
        var location = try S3Location(parsing: s3.url)
        location.bucket = "vessel-new-\(UInt32.random(in: 0...UInt32.max))"
        let url = "s3://\(location.bucket)?endpoint=\(location.endpoint)&region=\(location.region)"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-s3new-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: "\(dir).log")
        }
        let server = try await ServeProcess(dataDir: dir, arguments: ["--storage", url, "--create-bucket"],
                                            environment: ["AWS_ACCESS_KEY_ID": s3.access, "AWS_SECRET_ACCESS_KEY": s3.secret])
        server.stop()
        let log = (try? String(contentsOfFile: server.log, encoding: .utf8)) ?? ""
        #expect(log.contains("versioning is off"), "\(log)")
        let client = S3Client(location: location, credentials: S3Credentials(accessKey: s3.access, secretKey: s3.secret))
        try await client.deleteBucket()
        await client.shutdown()
    }

    @Test(.enabled(if: s3 != nil, "needs a real S3 server"), arguments: [false, true])
    func pushAndPullThroughS3(redirect: Bool) async throws {
        let s3 = try #require(Self.s3)
        let url = try Self.isolatedURL(s3.url)
        let big = UploadSessionAPITests.payload(mebibytes: 12)
        let small = Array("{\"arch\": \"demo\"}".utf8)
        try await LiveHarness.with(chunkSize: 5 << 20, configure: { options in
            options.storageURL = url
            options.storageCredentials = S3Credentials(accessKey: s3.access, secretKey: s3.secret)
            options.storageRedirect = redirect
        }) { live in
            let model = try ModelName("acme/s3")
            let src = try live.folder("src", ["weights/model.bin": big, "config.json": small])
            var pusher = Pusher(api: live.api)
            pusher.chunkedThreshold = 5 << 20
            let pushed = try await pusher.push(folder: src, model: model, alias: try AliasName("staging"), description: nil)
            #expect(pushed.state == .ready && pushed.bytesUploaded == UInt64(big.count + small.count))
            let digest = APIHarness.digest(big)
            #expect(try await live.registry.blobs.size(of: digest) == UInt64(big.count))
            // The download route: a redirect to a presigned URL, or the bytes themselves.
            let response = try await live.api.send(live.api.request(.GET, "\(model.apiPath)/blobs/\(digest)"))
            _ = try? await response.body.collect(upTo: 64 << 20)
            #expect(response.status.code == (redirect ? 307 : 200))
            if redirect {
                let location = try #require(response.headers.first(name: "location"))
                #expect(location.contains("X-Amz-Signature=") && !location.contains(APIHarness.adminToken))
            }
            let cache = try BlobCache(root: "\(live.dir)/cache")
            let pulled = try await Puller(api: live.api, cache: cache).pull(try Reference("acme/s3@staging"), into: "\(live.dir)/out", verifyCache: false, allowQuarantined: false)
            #expect(pulled.bytesDownloaded == UInt64(big.count + small.count))
            #expect(FileManager.default.contents(atPath: "\(live.dir)/out/weights/model.bin") == Data(big))
            #expect(FileManager.default.contents(atPath: "\(live.dir)/out/config.json") == Data(small))
            if let store = live.registry.blobs as? S3BlobStore {
                let prefix = store.client.location.key("")
                for version in try await store.client.listObjectVersions(prefix: prefix) {
                    try await store.client.deleteObject(version.key, versionID: version.versionID)
                }
            }
        }
    }
}
