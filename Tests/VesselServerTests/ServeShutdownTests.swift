import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import Testing
import VesselTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `vessel serve` as a process on SIGTERM and SIGINT (ServerLifecycle): it stops accepting,
/// lets a request in flight finish within `--shutdown-timeout`, cuts it after that, and exits
/// at once on a second signal. The request in flight is a blob upload whose body the test holds
/// back; `vessel_uploads_in_flight` on /metrics says when the server is inside it.
/// Time bounds are wide (2 busy cores): they tell "waited for the timeout" from "hung".
@Suite(.serialized, .enabled(if: VesselExecutable.path != nil, "needs the vessel executable built next to the tests"), .timeLimit(.minutes(3)))
struct ServeShutdownTests {
    @Test func aRequestInFlightFinishesAfterSIGTERMWhileNewConnectionsAreRefused() async throws {
        let serve = try await ServeProcess(arguments: ["--log-level", "notice", "--shutdown-timeout", "60s"])
        defer { serve.stop() }
        try await HeldUpload.with(serve) { upload in
            try await upload.started()
            serve.signal(SIGTERM)
            try await Self.logShows("shutting down (SIGTERM)", serve)
            try await Self.eventually("the listener closes") { !Self.accepts(port: serve.port) }
            #expect(await serve.waitForExit(timeout: .milliseconds(500)) == nil, "the upload in flight holds the shutdown")
            let status = try await upload.finish()
            #expect(status == 201)
        }
        let exit = await serve.waitForExit(timeout: .seconds(30))
        #expect(exit == ServeProcess.Exit(status: 0, signalled: false))
        #expect(try Self.log(serve).contains("vessel stopped"))
    }

    @Test func theShutdownTimeoutCutsARequestThatDoesNotFinish() async throws {
        let serve = try await ServeProcess(arguments: ["--log-level", "notice", "--shutdown-timeout", "2s"])
        defer { serve.stop() }
        try await HeldUpload.with(serve) { upload in
            try await upload.started()
            let signalled = ContinuousClock.now
            serve.signal(SIGTERM)
            let exit = await serve.waitForExit(timeout: .seconds(25))
            let took = signalled.duration(to: .now)
            #expect(exit == ServeProcess.Exit(status: 0, signalled: false), "log: \(Self.logTail(serve))")
            #expect(took >= .milliseconds(1900), "it waited for the request in flight for the shutdown timeout, took \(took)")
            #expect(took < .seconds(25))
        }
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aSecondSignalExitsAtOnce(second: Int32) async throws {
        let serve = try await ServeProcess(arguments: ["--log-level", "notice", "--shutdown-timeout", "120s"])
        defer { serve.stop() }
        try await HeldUpload.with(serve) { upload in
            try await upload.started()
            serve.signal(SIGTERM)
            try await Self.logShows("shutting down (SIGTERM)", serve)
            #expect(await serve.waitForExit(timeout: .milliseconds(500)) == nil, "the upload in flight holds the shutdown")
            let signalled = ContinuousClock.now
            serve.signal(second)
            let exit = await serve.waitForExit(timeout: .seconds(15))
            #expect(exit == ServeProcess.Exit(status: 128 + second, signalled: false), "log: \(Self.logTail(serve))")
            #expect(signalled.duration(to: .now) < .seconds(15))
        }
    }

    @Test func startingWithTheDatabaseUnreachableGivesUpAfterTheStartupTimeoutWithExit6() async throws {
        let (fd, port) = CLI.refusingPort()
        defer { close(fd) }
        let dir = TempDir.make("vessel-startup")
        let started = ContinuousClock.now
        let result = try await CLI.run(
            ["serve", "--data-dir", dir, "--port", String(CLI.freePort()), "--database", "postgres://vessel:secret@127.0.0.1:\(port)/vessel",
             "--startup-timeout", "2s"],
            environment: ["VESSEL_ADMIN_TOKEN": ServeProcess.adminToken])
        let took = started.duration(to: .now)
        #expect(result.status == 6)
        #expect(result.stderr.contains("error: the database PostgreSQL at postgres://vessel@127.0.0.1:\(port)/vessel could not be reached within 2s (--startup-timeout"), "\(result.stderr)")
        #expect(result.stderr.contains("last error: cannot connect to PostgreSQL"), "\(result.stderr)")
        #expect(result.stderr.contains("waiting for the database"), "each attempt is logged (at most every 5 s)")
        #expect(!result.stderr.contains("secret"), "the password is not logged")
        #expect(took >= .milliseconds(1900) && took < .seconds(60), "took \(took)")
    }

    // MARK: helpers

    /// A blob upload whose body stops after its first KiB until `finish()`.
    final class HeldUpload: Sendable {
        let serve: ServeProcess
        let client: HTTPClient
        let payload = Data((0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let body: AsyncStream<ByteBuffer>.Continuation
        let response: Task<Int, any Error>

        private init(_ serve: ServeProcess) {
            self.serve = serve
            client = HTTPClient(eventLoopGroupProvider: .singleton)
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
            body = continuation
            let digest = "sha256:" + SHA256.hash(data: payload).map { String(format: "%02x", $0) }.joined()
            var request = HTTPClientRequest(url: "\(serve.url)/api/v1/models/acme/held/blobs/\(digest)")
            request.method = .PUT
            request.headers.add(name: "Authorization", value: "Bearer \(ServeProcess.adminToken)")
            request.body = .stream(stream, length: .known(Int64(payload.count)))
            let client = client
            response = Task { Int(try await client.execute(request, timeout: .seconds(150)).status.code) }
            continuation.yield(ByteBuffer(bytes: payload.prefix(1024)))
        }

        static func with(_ serve: ServeProcess, _ body: (HeldUpload) async throws -> Void) async throws {
            let upload = HeldUpload(serve)
            do {
                try await body(upload)
            } catch {
                upload.body.finish()
                upload.response.cancel()
                try? await upload.client.shutdown()
                throw error
            }
            upload.body.finish()
            _ = try? await upload.response.value
            try? await upload.client.shutdown()
        }

        /// Returns once the server is inside the upload's handler.
        func started() async throws {
            let metrics = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { metrics.shutdown { _ in } }
            try await ServeShutdownTests.eventually("the upload is in flight") {
                let response = try? await metrics.execute(HTTPClientRequest(url: "\(serve.url)/metrics"), timeout: .seconds(5))
                guard let response, let text = try? await String(buffer: response.body.collect(upTo: 1 << 20)) else { return false }
                return text.split(separator: "\n").contains("vessel_uploads_in_flight 1.0") || text.split(separator: "\n").contains("vessel_uploads_in_flight 1")
            }
        }

        /// Sends the rest of the body; the response's status.
        func finish() async throws -> Int {
            body.yield(ByteBuffer(bytes: payload.dropFirst(1024)))
            body.finish()
            return try await response.value
        }
    }

    /// The end of the server's log, for a failure's message.
    static func logTail(_ serve: ServeProcess) -> String {
        String(((try? log(serve)) ?? "").suffix(2000))
    }

    static func log(_ serve: ServeProcess) throws -> String {
        try String(contentsOfFile: serve.log, encoding: .utf8)
    }

    /// Waits until the server's log contains `text`, at most 30 s.
    static func logShows(_ text: String, _ serve: ServeProcess) async throws {
        try await eventually("the log shows '\(text)'") { (try? log(serve).contains(text)) ?? false }
    }

    /// Checks `condition` every 50 ms until it holds, at most `limit`.
    static func eventually(_ what: String, within limit: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("not within \(limit): \(what)")
    }

    /// Whether a new loopback connection to `port` is accepted (refused at once once the listener is closed).
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
