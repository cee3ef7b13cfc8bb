import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import VesselCore
@testable import VesselClient

/// The real client against a real HTTP server that answers 503 for a while, as a server with
/// its database down does: `unavailable` with `Retry-After` is waited out, without it (a
/// misconfiguration) and a 4xx are final. Pauses are taken on a clock only they advance.
@Suite struct ClientRetryTests {
    /// A stand-in server for `POST …/promote`: the first `failures` requests answer `status`
    /// (with `retryAfter` when given), the rest 200 with an applied promotion.
    final class FlakyServer: Sendable {
        let failures: Int
        let status: HTTPResponse.Status
        let retryAfter: String?
        private let count = Mutex(0)
        var requests: Int { count.withLock { $0 } }

        init(failures: Int, status: HTTPResponse.Status = .serviceUnavailable, retryAfter: String?) {
            self.failures = failures
            self.status = status
            self.retryAfter = retryAfter
        }

        func respond() throws -> Response {
            let n = count.withLock { $0 += 1; return $0 }
            if n <= failures {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let retryAfter { headers[.retryAfter] = retryAfter }
                let body = #"{"error": {"code": "\#(status == .serviceUnavailable ? "unavailable" : "invalid_argument")", "message": "the database did not answer within 5s; retry"}}"#
                return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
            }
            let result = PromotionResult(status: .applied, requestID: nil, failures: [], model: try ModelName("acme/m"), alias: "prod", version: 1)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: try JSONEncoder().encode(result))))
        }

        /// Runs `body` with a client whose requests wait out outages for `budget`; returns the
        /// pauses it took and what it announced.
        func with(budget: Duration, _ body: @Sendable (APIClient) async throws -> Void) async throws -> (pauses: [Duration], notices: [String]) {
            let router = Router()
            router.post("/api/v1/models/:owner/:name/promote") { _, _ in try self.respond() }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            let taken = Mutex<(pauses: [Duration], notices: [String])>(([], []))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                var policy = RetryPolicy.outage(budget: budget) { notice in taken.withLock { $0.notices.append(notice.description) } }
                let start = ContinuousClock.now
                policy.sleep = { pause in taken.withLock { $0.pauses.append(pause) } }
                policy.now = { start.advanced(by: taken.withLock { $0.pauses.reduce(.zero, +) }) }
                policy.jitter = { 1 }
                let api = APIClient(config: ClientConfig(server: "http://127.0.0.1:\(port)", token: "t"), retry: policy)
                do {
                    try await body(api)
                } catch {
                    await api.shutdown()
                    throw error
                }
                await api.shutdown()
            }
            return taken.withLock { $0 }
        }
    }

    static let request = PromoteRequest(version: 1, to: "prod")

    @Test func unavailableWithRetryAfterIsWaitedOutThenSucceeds() async throws {
        let server = FlakyServer(failures: 2, retryAfter: "2")
        let taken = try await server.with(budget: .seconds(120)) { api in
            let result = try await api.promote(try ModelName("acme/m"), Self.request)
            #expect(result.status == .applied)
        }
        #expect(server.requests == 3)
        #expect(taken.pauses == [.seconds(2), .seconds(2)])
        #expect(taken.notices == [
            "the database did not answer within 5s (503), retrying in 2.0s, 2m left",
            "the database did not answer within 5s (503), retrying in 2.0s, 1m58s left",
        ])
    }

    @Test func unavailableWithoutRetryAfterIsAMisconfigurationAndFinal() async throws {
        let server = FlakyServer(failures: 5, retryAfter: nil)
        let taken = try await server.with(budget: .seconds(120)) { api in
            do {
                _ = try await api.promote(try ModelName("acme/m"), Self.request)
                Issue.record("a misconfigured server answered")
            } catch let error as VesselError {
                #expect(error.code == .unavailable)
            }
        }
        #expect(server.requests == 1 && taken.pauses.isEmpty)
    }

    @Test func aClientErrorIsNotRetried() async throws {
        let server = FlakyServer(failures: 5, status: .badRequest, retryAfter: "1")
        let taken = try await server.with(budget: .seconds(120)) { api in
            await #expect(throws: VesselError.self) { _ = try await api.promote(try ModelName("acme/m"), Self.request) }
        }
        #expect(server.requests == 1 && taken.pauses.isEmpty)
    }

    @Test func theBudgetEndsAnOutageThatLasts() async throws {
        let server = FlakyServer(failures: 1_000, retryAfter: "2")
        let taken = try await server.with(budget: .seconds(10)) { api in
            do {
                _ = try await api.promote(try ModelName("acme/m"), Self.request)
                Issue.record("an endless outage ended")
            } catch let error as VesselError {
                #expect(error.code == .unavailable)
                #expect(error.message.contains("still failing after retrying for 10s"))
            }
        }
        #expect(taken.pauses == Array(repeating: .seconds(2), count: 5) && server.requests == 6)
    }
}
