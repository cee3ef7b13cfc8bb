import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing
import VesselCore
@testable import VesselMetadata

/// The PostgreSQL backend's own deadlines and its classification of failures, on the test
/// server (`VESSEL_TEST_POSTGRES_URL`). Outages (a crashed server) are in the server's fault
/// suite, on a private cluster; nothing here stops the shared one.
@Suite(.enabled(if: MetadataHarness.postgresURL != nil)) struct PostgresDeadlineTests {
    let logger = Logger(label: "test")

    func withBackend(timeout: Duration, maxConnections: Int = 4, _ body: (PostgresBackend, Reports) async throws -> Void) async throws {
        let url = try PostgresURL(try #require(MetadataHarness.postgresURL))
        let reports = Reports()
        let policy = BackendPolicy(timeout: timeout) { failure in reports.add(failure) }
        let backend = try await PostgresBackend.connect(url: url, maxConnections: maxConnections, policy: policy, logger: logger)
        do {
            try await body(backend, reports)
        } catch {
            await backend.shutdown()
            throw error
        }
        await backend.shutdown()
    }

    /// A statement past the deadline fails as a retryable `unavailable` (postgres-nio would wait
    /// for the server for ever), and the pool goes on serving. The deadline is 5 s, not less: it
    /// also bounds opening a replacement connection (SCRAM costs CPU), and a loaded full run once
    /// took more than 1 s for that.
    @Test(.timeLimit(.minutes(3))) func aStatementPastTheDeadlineIsRetryableAndItsConnectionIsNotReused() async throws {
        try await withBackend(timeout: .seconds(5), maxConnections: 2) { backend, reports in
            let started = ContinuousClock.now
            do {
                _ = try await backend.read { db in try await db.raw("SELECT pg_sleep(300)").run() }
                Issue.record("a 300 s statement finished within a 5 s deadline")
            } catch let error as VesselError {
                #expect(error.code == .unavailable && error.retryAfter == BackendFailure.retryAfterSeconds, "\(error)")
            }
            // Tells the 5 s deadline from none (300 s) with room for a loaded machine, where the
            // wake-up waits for a free thread of the cooperative pool.
            let took = started.duration(to: .now)
            #expect(took < .seconds(30), "took \(took)")
            #expect(reports.all.map(\.transient) == [true])
            // Both pooled connections serve again: the closed one was not handed out (a reused
            // closed connection fails as "closed the connection"). Opening its replacement can
            // take longer than the 5 s lease deadline on a loaded machine: that wait is asked again.
            for _ in 0..<4 {
                var one: [String: Int]?
                for attempt in 1...4 {
                    do {
                        one = try await backend.read { db in try await db.raw("SELECT 1 AS one").first(decoding: [String: Int].self) }
                        break
                    } catch let error as VesselError where error.code == .unavailable && error.message.contains("no connection") && attempt < 4 {
                        continue
                    }
                }
                #expect(one?["one"] == 1)
            }
        }
    }

    /// With every connection held, a lease waits at most the deadline and then fails as a
    /// retryable `unavailable`; the held ones finish normally.
    @Test(.timeLimit(.minutes(1))) func aLeaseNotGivenInTimeIsRetryable() async throws {
        try await withBackend(timeout: .seconds(5), maxConnections: 2) { backend, reports in
            let release = Latch()
            let holding = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Whatever ends this body (a failed wait, the time limit's cancellation), the
                // holders are let go: the group waits for them, and they ignore cancellation.
                defer { release.open() }
                for _ in 0..<2 {
                    group.addTask {
                        // On a loaded machine opening the second connection can take longer than
                        // the deadline; a holder that got no lease asks again (this test is about
                        // the third lease), else the wait below would never end.
                        while true {
                            do {
                                try await backend.read { _ in
                                    holding.increment()
                                    await release.wait()
                                }
                                return
                            } catch let error as VesselError where error.code == .unavailable {
                                continue
                            }
                        }
                    }
                }
                while holding.value < 2 { try await Task.sleep(for: .milliseconds(20)) }
                let reportsBefore = reports.all.count
                let started = ContinuousClock.now
                do {
                    _ = try await backend.read { db in try await db.raw("SELECT 1 AS one").run() }
                    Issue.record("a lease was given while both connections were held")
                } catch let error as VesselError {
                    #expect(error.code == .unavailable && error.retryAfter != nil && error.message.contains("no connection"), "\(error)")
                }
                let took = started.duration(to: .now)
                #expect(took < .seconds(30), "took \(took)")
                #expect(reports.all.count == reportsBefore + 1)
                release.open()
                try await group.waitForAll()
            }
            _ = try await backend.read { db in try await db.raw("SELECT 1 AS one").run() }
        }
    }

    /// What the watcher and the error mapping see from real failures: a closed port is
    /// transient; a wrong password or a missing database is the configuration's fault.
    @Test(.timeLimit(.minutes(1))) func connectionFailuresAreClassified() async throws {
        let url = try PostgresURL(try #require(MetadataHarness.postgresURL))
        func classify(_ url: PostgresURL) async -> BackendFailure? {
            do {
                try await PostgresBackend.probeDirect(url: url, timeout: .seconds(5), logger: logger)
                return nil
            } catch let error as PSQLError {
                return PostgresFailure.backendFailure(error, endpoint: url.endpoint)
            } catch {
                return BackendFailure(.database, transient: false, "unexpected \(error)")
            }
        }
        var wrongPassword = url
        wrongPassword.password = "not-the-password"
        #expect(await classify(wrongPassword)?.transient == false)
        var missing = url
        missing.database = "vessel_no_such_database"
        #expect(await classify(missing)?.transient == false)
        var closed = url
        closed.port = 9
        #expect(await classify(closed)?.transient == true)
        #expect(await classify(url) == nil)
    }

    /// A backend that cannot connect fails its lease within the deadline with the watcher's
    /// cause: permanent for a password PostgreSQL refuses (no `Retry-After`).
    @Test(.timeLimit(.minutes(1))) func theWatcherSeesAReachableServer() async throws {
        try await withBackend(timeout: .seconds(2)) { backend, _ in
            #expect(backend.reachable)
            await backend.check()
            #expect(backend.reachable)
        }
    }
}

/// A signal the test gives; waiters ignore cancellation.
private final class Latch: Sendable {
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

final class Reports: Sendable {
    private let list = Mutex<[BackendFailure]>([])
    func add(_ failure: BackendFailure) { list.withLock { $0.append(failure) } }
    var all: [BackendFailure] { list.withLock { $0 } }
}

private final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
