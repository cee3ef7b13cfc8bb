import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import VesselCore
@testable import VesselServer

/// How backend failures reach a client (503 `unavailable`, `Retry-After` only when waiting may
/// help), what `/readyz` answers and how fast, and how failures are counted on `/metrics`.
@Suite struct BackendErrorResponseTests {
    func withRouter(_ routes: [(String, @Sendable () async throws -> Response)], _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router(context: AppContext.self)
        router.middlewares.add(ErrorMiddleware())
        for (path, handler) in routes { router.get(RouterPath(path)) { _, _ in try await handler() } }
        try await Application(router: router).test(.router) { client in try await body(client) }
    }

    @Test func transientFailuresAnswer503WithRetryAfterAndPermanentOnesWithout() async throws {
        try await withRouter([
            ("/transient", { throw BackendFailure(.database, transient: true, "PostgreSQL at h:1 cannot be reached").error }),
            ("/permanent", { throw BackendFailure(.storage, transient: false, "object storage refused the server's credentials").error }),
            ("/deadline", { throw DeadlineExceeded(.seconds(1)) }),
            ("/busy", { throw VesselError(.unavailable, "chunk 3 is being written") }),
        ]) { client in
            try await client.execute(uri: "/transient", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == String(BackendFailure.retryAfterSeconds))
                #expect(APIHarness.errorCode(response) == "unavailable")
            }
            try await client.execute(uri: "/permanent", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == nil)
                #expect(APIHarness.errorCode(response) == "unavailable")
            }
            try await client.execute(uri: "/deadline", method: .get) { response in
                #expect(response.status == .serviceUnavailable && response.headers[.retryAfter] != nil)
            }
            try await client.execute(uri: "/busy", method: .get) { response in
                #expect(response.status == .serviceUnavailable && response.headers[.retryAfter] == nil)
            }
        }
    }

    @Test func readyzNamesEachBackend() async throws {
        try await APIHarness.with { _, client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "{\"database\":\"ok\",\"storage\":\"ok\"}\n")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            }
        }
    }

    /// A probe that never answers (and ignores cancellation) reads as down, not as a hung request;
    /// `/healthz` stays 200 whatever the backends do.
    @Test(.timeLimit(.minutes(1))) func readyzAnswersWhenAProbeHangs() async throws {
        let stuck = ReleaseLatch()
        let readiness = Readiness(database: { _ in await stuck.wait(); return true }, storage: { _ in false })
        let router = Router(context: AppContext.self)
        router.middlewares.add(ErrorMiddleware())
        HealthController(readiness: readiness, metrics: ServerMetrics()).register(router)
        try await Application(router: router).test(.router) { client in
            // The probe never returns until the latch opens after this block: without the probe
            // limit (800 ms) the answer would never come and the time limit would fail the test.
            // How fast it comes is checked on a server's own clock by `BackendOutageTests`; a
            // wall-clock bound here flaked on a loaded two-core CI run (25 s against 20).
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body) == "{\"database\":\"down\",\"storage\":\"down\"}\n")
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
        stuck.open()
    }

    @Test func backendFailuresAreCountedByBackend() {
        let metrics = ServerMetrics()
        #expect(metrics.registry.render().contains(#"vessel_backend_errors_total{backend="database"} 0"#))
        #expect(metrics.registry.render().contains(#"vessel_backend_errors_total{backend="storage"} 0"#))
        let policy = BackendMonitor(metrics: metrics, logger: Logger(label: "test")).policy(timeout: .seconds(5))
        for _ in 0..<3 { _ = policy.fail(BackendFailure(.database, transient: true, "down")) }
        _ = policy.fail(BackendFailure(.storage, transient: false, "wrong key"))
        #expect(metrics.registry.value(ServerMetrics.backendErrors, [("backend", "database")]) == 3)
        #expect(metrics.registry.value(ServerMetrics.backendErrors, [("backend", "storage")]) == 1)
    }
}

/// A signal: `wait()` returns once `open()` was called, and never reacts to cancellation.
final class ReleaseLatch: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
