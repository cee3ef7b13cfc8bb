import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing
import VesselCore
import VesselTestSupport
@testable import VesselServer
@testable import VesselStorage

/// Fast, honest answers while a backend is away, on the real servers: a private PostgreSQL
/// cluster this suite crashes and restarts (never the shared one), and the shared radosgw with
/// wrong credentials (never stopped). Time assertions are bounds with wide margins ("well
/// within twice the backend timeout"), not measurements: CI runs on two busy cores.
@Suite(.serialized) struct BackendOutageTests {
    static let http = HTTPClient(eventLoopGroupProvider: .singleton)

    struct Answer {
        var status: UInt
        var retryAfter: String?
        var body: String
        var seconds: Double
    }

    static func call(_ url: String, method: HTTPMethod = .GET, body: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "authorization", value: "Bearer \(ServeProcess.adminToken)")
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let started = ContinuousClock.now
        let response = try await http.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let took = started.duration(to: .now)
        return Answer(status: response.status.code, retryAfter: response.headers.first(name: "retry-after"), body: String(buffer: bytes),
                      seconds: Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
    }

    /// A draft of one file: the first write of a push, which needs the database.
    static func draft(_ serve: ServeProcess, model: String) async throws -> Answer {
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        return try await call("\(serve.url)/api/v1/models/\(model)/drafts", method: .POST,
                              body: #"{"files":[{"path":"w.bin","size":1,"digest":"\#(digest)"}],"description":null}"#)
    }

    /// The value of the series `name` (with its labels) in a `/metrics` body; 0 when absent.
    static func sample(_ metrics: String, _ name: String) -> Double {
        let line = metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }

    /// Polls `probe` until it holds, at most `limit`; true when it did.
    static func eventually(_ limit: Duration, _ probe: () async throws -> Bool) async throws -> Bool {
        let end = ContinuousClock.now.advanced(by: limit)
        while ContinuousClock.now < end {
            if try await probe() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test(.enabled(if: DisposablePostgres.isAvailable && VesselExecutable.path != nil, Comment(rawValue: DisposablePostgres.requirement)),
          .timeLimit(.minutes(5)))
    func aDatabaseOutageAnswers503FastAndRecoversWithoutARestart() async throws {
        try await DisposablePostgres.with { pg in
            let serve = try await ServeProcess(arguments: ["--database", pg.url, "--backend-timeout", "1s"])
            defer { serve.stop() }
            let ready = try await Self.call("\(serve.url)/readyz")
            #expect(ready.status == 200 && ready.body == "{\"database\":\"ok\",\"storage\":\"ok\"}\n", "\(ready)")
            #expect(try await Self.draft(serve, model: "acme/before").status == 201)

            try await pg.crash()

            // /readyz says so. How fast it answers is read from the server's own clock below (the
            // test process's clock also counts waits for its cooperative pool under a full run).
            var slowest = 0.0
            let down = try await Self.eventually(.seconds(30)) {
                let answer = try await Self.call("\(serve.url)/readyz")
                slowest = max(slowest, answer.seconds)
                return answer.status == 503 && answer.body == "{\"database\":\"down\",\"storage\":\"ok\"}\n"
            }
            #expect(down, "/readyz never said the database is down")
            #expect(slowest < 30, "/readyz took \(slowest) s")
            let health = try await Self.call("\(serve.url)/healthz")
            #expect(health.status == 200)

            // A request that needs the database: 503 unavailable with Retry-After (its time is
            // checked on the server's clock below; without the deadlines it took a minute).
            for attempt in 0..<3 {
                let answer = try await Self.draft(serve, model: "acme/during")
                #expect(answer.status == 503 && answer.body.contains("\"unavailable\""), "attempt \(attempt): \(answer)")
                #expect(answer.retryAfter.flatMap(Int.init).map { (1...5).contains($0) } == true, "attempt \(attempt): \(answer)")
                #expect(answer.seconds < 30, "attempt \(attempt) took \(answer.seconds) s")
            }
            // On the server's own clock (vessel_http_request_duration_seconds): every GET so far
            // (/readyz, /healthz) within 1 s, and every POST (drafts) within 2 s, twice the 1 s
            // backend timeout; each with a bucket's margin (2.5 s and 5 s).
            let timing = try await Self.call("\(serve.url)/metrics").body
            for (method, bucket) in [("GET", "2.5"), ("POST", "5.0")] {
                let total = Self.sample(timing, #"vessel_http_request_duration_seconds_count{method="\#(method)"}"#)
                let within = Self.sample(timing, #"vessel_http_request_duration_seconds_bucket{method="\#(method)",le="\#(bucket)"}"#)
                #expect(total > 0 && within == total, "\(method): \(within) of \(total) answered within \(bucket) s")
            }

            try await pg.resume()

            // Back without restarting vessel: the watcher replaces the pool.
            let recovered = try await Self.eventually(.seconds(30)) { try await Self.draft(serve, model: "acme/after").status == 201 }
            #expect(recovered, "pushes did not succeed again after PostgreSQL came back")
            let readyAgain = try await Self.call("\(serve.url)/readyz")
            let log = (try? String(contentsOfFile: serve.log, encoding: .utf8)) ?? ""
            #expect(readyAgain.status == 200, "\(readyAgain)\n\(log.suffix(3000))")
            let metrics = try await Self.call("\(serve.url)/metrics").body
            let errors = Self.sample(metrics, #"vessel_backend_errors_total{backend="database"}"#)
            #expect(errors >= 3, "vessel_backend_errors_total{backend=\"database\"} is \(errors)")
            // Reconnect failures are logged once per interval, not per attempt (the outage
            // lasted well under the 30 s interval: one line for it).
            let lines = log.split(separator: "\n").filter { $0.contains("PostgreSQL cannot be reached") || $0.contains("PostgreSQL still cannot be reached") }
            #expect(lines.count == 1, "\(lines)")
        }
    }

    static var s3: (url: String, access: String)? {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["VESSEL_TEST_S3_URL"], let access = env["VESSEL_TEST_S3_ACCESS_KEY"] else { return nil }
        return (url, access)
    }

    /// Object storage that refuses the server's credentials is a misconfiguration: 503
    /// `unavailable` without `Retry-After` (waiting will not fix it), and its readiness probe
    /// reads down.
    @Test(.enabled(if: s3 != nil, "needs VESSEL_TEST_S3_URL (scripts/services.sh start-rgw)"), .timeLimit(.minutes(2)))
    func wrongStorageCredentialsAnswer503WithoutRetryAfter() async throws {
        let s3 = try #require(Self.s3)
        let location = try S3Location(parsing: s3.url)
        let client = S3Client(location: location, credentials: S3Credentials(accessKey: s3.access, secretKey: "not-the-secret"),
                              policy: BackendPolicy(timeout: .seconds(5)))
        let cacheDir = TempDir.make("vessel-wrong-s3")
        let wrong = S3BlobStore(client: client, threadPool: .blobIO, cache: try LocalBlobCache(dir: cacheDir, limit: 1 << 20, threadPool: .blobIO))
        defer { try? FileManager.default.removeItem(atPath: cacheDir) }
        try await LiveHarness.with(blobs: { _ in wrong }) { harness in
            let bytes = Array("weights".utf8)
            let digest = APIHarness.digest(bytes)
            let base = harness.api.config.server
            _ = try await harness.api.createDraft(try ModelName("acme/s3"), DraftRequest(files: [ManifestEntry(path: "w.bin", size: UInt64(bytes.count), digest: digest)], description: nil))
            var request = HTTPClientRequest(url: "\(base)/api/v1/models/acme/s3/blobs/\(digest)")
            request.method = .PUT
            request.headers.add(name: "authorization", value: "Bearer \(APIHarness.adminToken)")
            request.body = .bytes(ByteBuffer(bytes: bytes))
            let response = try await Self.http.execute(request, timeout: .seconds(60))
            let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
            #expect(response.status.code == 503 && body.contains("\"unavailable\"") && body.contains("credentials"), "\(response.status) \(body)")
            #expect(response.headers.first(name: "retry-after") == nil)
            #expect(await wrong.probe(timeout: .seconds(5)) == false)
        }
        await client.shutdown()
    }
}
