import Foundation
import Synchronization
import Testing
import VesselCore
@testable import VesselClient

/// Which failures a transfer tries again, how often, and how long it waits — with the sleep
/// injected, so nothing here waits on real time.
@Suite struct RetryPolicyTests {
    /// The pauses a policy asked for, instead of sleeping.
    final class Pauses: Sendable {
        private let taken = Mutex<[Duration]>([])
        var all: [Duration] { taken.withLock { $0 } }
        func sleep(_ duration: Duration) { taken.withLock { $0.append(duration) } }
    }

    struct Cut: Error, Equatable { var attempt: Int }

    func policy(_ base: RetryPolicy, _ pauses: Pauses) -> RetryPolicy {
        var policy = base
        policy.sleep = { pauses.sleep($0) }
        return policy
    }

    @Test func pausesGrowLinearlyFrom200Milliseconds() {
        #expect((1...4).map(RetryPolicy.delay(after:)) == [.milliseconds(200), .milliseconds(400), .milliseconds(600), .milliseconds(800)])
    }

    @Test func aDownloadRetriesCutConnectionsAndUnavailableButNothingElse() {
        let retries = RetryPolicy.download.retries
        #expect(RetryPolicy.download.attempts == 4)
        #expect(retries(VesselError(.unavailable, "the download was cut")))
        #expect(retries(Cut(attempt: 1)), "a transport error of the HTTP client")
        #expect(retries(URLError(.networkConnectionLost)))
        for final in [ErrorCode.notFound, .digestMismatch, .insufficientStorage, .unauthenticated, .forbidden, .internalError] {
            #expect(!retries(VesselError(final, "final")), "\(final)")
        }
    }

    @Test func anUploadRetriesOnlyUnavailable() {
        let policy = RetryPolicy.upload(attempts: 5)
        #expect(policy.attempts == 5)
        #expect(policy.retries(VesselError(.unavailable, "restarting")))
        #expect(!policy.retries(VesselError(.notFound, "session gone")))
        #expect(!policy.retries(Cut(attempt: 1)), "anything that is not a VesselError is final for an upload")
    }

    @Test func aFailureThatPassesIsRetriedAfterGrowingPauses() async throws {
        let pauses = Pauses()
        var attempts = 0
        let value = try await policy(.download, pauses).run { () async throws -> String in
            attempts += 1
            if attempts < 4 { throw VesselError(.unavailable, "cut") }
            return "done"
        }
        #expect(value == "done")
        #expect(attempts == 4)
        #expect(pauses.all == [.milliseconds(200), .milliseconds(400), .milliseconds(600)])
    }

    @Test func theLastFailureIsThrownWhenTheAttemptsAreSpent() async throws {
        let pauses = Pauses()
        var attempts = 0
        await #expect(throws: Cut(attempt: 4)) {
            try await policy(.download, pauses).run { () async throws -> Void in
                attempts += 1
                throw Cut(attempt: attempts)
            }
        }
        #expect(attempts == 4)
        #expect(pauses.all.count == 3, "no pause after the last attempt")
    }

    @Test func aFinalFailureIsThrownAtOnce() async throws {
        let pauses = Pauses()
        var attempts = 0
        do {
            try await policy(.download, pauses).run { () async throws -> Void in
                attempts += 1
                throw VesselError(.digestMismatch, "wrong bytes")
            }
            Issue.record("the failure was swallowed")
        } catch let error as VesselError {
            #expect(error.code == .digestMismatch)
        }
        #expect(attempts == 1)
        #expect(pauses.all.isEmpty)
    }

    @Test func aCancelledPauseEndsTheRetries() async throws {
        var policy = RetryPolicy.download
        policy.sleep = { _ in throw CancellationError() }
        var attempts = 0
        await #expect(throws: CancellationError.self) {
            try await policy.run { () async throws -> Void in
                attempts += 1
                throw Cut(attempt: attempts)
            }
        }
        #expect(attempts == 1)
    }

    @Test func oneAttemptMeansNoRetry() async throws {
        let pauses = Pauses()
        var attempts = 0
        await #expect(throws: VesselError.self) {
            try await policy(.upload(attempts: 1), pauses).run { () async throws -> Void in
                attempts += 1
                throw VesselError(.unavailable, "cut")
            }
        }
        #expect(attempts == 1 && pauses.all.isEmpty)
    }
}

/// Waiting out an outage (`--retry-for`): transient failures retried with exponential backoff
/// and jitter, never sooner than `Retry-After`, for up to the budget — on a clock the injected
/// sleep advances, so nothing here waits on real time.
@Suite struct OutageRetryTests {
    /// A clock that moves only when the policy sleeps, and what it was told.
    final class FakeTime: Sendable {
        private let start = ContinuousClock.now
        private let state = Mutex<(elapsed: Duration, pauses: [Duration], notices: [RetryNotice])>((.zero, [], []))
        var pauses: [Duration] { state.withLock { $0.pauses } }
        var notices: [RetryNotice] { state.withLock { $0.notices } }
        var elapsed: Duration { state.withLock { $0.elapsed } }

        func policy(_ base: RetryPolicy, jitter: Double = 1) -> RetryPolicy {
            var policy = base
            policy.sleep = { pause in self.state.withLock { $0.elapsed += pause; $0.pauses.append(pause) } }
            policy.now = { self.start.advanced(by: self.elapsed) }
            policy.jitter = { jitter }
            policy.notify = { notice in self.state.withLock { $0.notices.append(notice) } }
            return policy
        }

        func outage(_ budget: Duration = .seconds(120), jitter: Double = 1) -> RetryPolicy {
            policy(.outage(budget: budget), jitter: jitter)
        }
    }

    static func refused() -> TransientFailure {
        TransientFailure(error: VesselError(.unavailable, "cannot reach the Vessel server at http://x: connection refused"), reason: "cannot reach http://x: connection refused", retryAfter: nil)
    }

    static func busy(retryAfter: Duration) -> TransientFailure {
        TransientFailure(error: VesselError(.unavailable, "database unavailable"), reason: "database unavailable (503)", retryAfter: retryAfter)
    }

    @Test func pausesDoubleFromAQuarterSecondUpToFiveSeconds() {
        let policy = RetryPolicy.outage(budget: .seconds(60))
        #expect((1...7).map { policy.backoff(retry: $0) } == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        #expect(policy.backoff(retry: 1_000) == .seconds(5))
    }

    @Test func unavailableWithRetryAfterIsRetriedAfterAtLeastThatLong() async throws {
        let time = FakeTime()
        var attempts = 0
        let value = try await time.outage().run { () async throws -> String in
            attempts += 1
            if attempts < 3 { throw Self.busy(retryAfter: .seconds(2)) }
            return "committed"
        }
        #expect(value == "committed" && attempts == 3)
        #expect(time.pauses == [.seconds(2), .seconds(2)], "Retry-After outweighs the first, shorter backoff pauses")
        #expect(time.notices.map(\.description) == [
            "database unavailable (503), retrying in 2.0s, 2m left",
            "database unavailable (503), retrying in 2.0s, 1m58s left",
        ])
    }

    @Test func aRefusedConnectionIsRetriedWithGrowingJitteredPauses() async throws {
        let time = FakeTime()
        var attempts = 0
        try await time.outage(jitter: 0.5).run { () async throws -> Void in
            attempts += 1
            if attempts < 5 { throw Self.refused() }
        }
        #expect(attempts == 5)
        #expect(time.pauses == [.milliseconds(125), .milliseconds(250), .milliseconds(500), .seconds(1)], "half of 250 ms, 500 ms, 1 s, 2 s")
        #expect(time.notices.allSatisfy { $0.reason == "cannot reach http://x: connection refused" })
    }

    @Test func aFinalAnswerIsNotRetried() async throws {
        let time = FakeTime()
        var attempts = 0
        for final in [VesselError(.invalidArgument, "bad"), VesselError(.notFound, "no such model"), VesselError(.preconditionFailed, "moved"), VesselError(.unavailable, "wrong bucket")] {
            await #expect(throws: final) {
                try await time.outage().run { () async throws -> Void in
                    attempts += 1
                    throw final
                }
            }
        }
        #expect(attempts == 4 && time.pauses.isEmpty && time.notices.isEmpty)
    }

    @Test func theBudgetEndsTheWaitWithOneLastAttemptAtItsEnd() async throws {
        let time = FakeTime()
        var attempts = 0
        do {
            try await time.outage(.seconds(10)).run { () async throws -> Void in
                attempts += 1
                throw Self.refused()
            }
            Issue.record("an endless outage ended")
        } catch let error as VesselError {
            #expect(error.code == .unavailable)
            #expect(error.message.hasPrefix("cannot reach the Vessel server at http://x: connection refused"))
            #expect(error.message.contains("still failing after retrying for 10s; see --retry-for"))
        }
        // 0.25 + 0.5 + 1 + 2 + 4 = 7.75 s, then the last pause is cut to the 2.25 s left.
        #expect(time.pauses == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .milliseconds(2250)])
        #expect(time.elapsed == .seconds(10))
        #expect(attempts == 7, "one attempt after each pause, the last at the budget's end")
        #expect(time.notices.last?.left == .milliseconds(2250))
    }

    @Test func aRetryAfterLongerThanTheBudgetIsCutToWhatIsLeft() async throws {
        let time = FakeTime()
        var attempts = 0
        await #expect(throws: VesselError.self) {
            try await time.outage(.seconds(5)).run { () async throws -> Void in
                attempts += 1
                throw Self.busy(retryAfter: .seconds(60))
            }
        }
        #expect(time.pauses == [.seconds(5)] && attempts == 2)
    }

    @Test func aNewOutageGetsTheWholeBudgetAgain() async throws {
        // Transient, transient, an answer (the server is back; a transfer was cut), transient…
        let time = FakeTime()
        var policy = time.outage(.seconds(1))
        policy.attempts = 3
        policy.retries = { ($0 as? VesselError)?.code == .unavailable }
        var attempts = 0
        try await policy.run { () async throws -> Void in
            attempts += 1
            switch attempts {
            case 1, 2: throw Self.refused()
            case 3: throw VesselError(.unavailable, "the download was cut")
            case 4, 5: throw Self.refused()
            default: return
            }
        }
        #expect(attempts == 6)
        #expect(time.pauses == [.milliseconds(250), .milliseconds(500), RetryPolicy.delay(after: 1), .milliseconds(250), .milliseconds(500)])
    }

    @Test func aTransferWaitsOutAnOutageWithoutSpendingItsAttempts() async throws {
        let time = FakeTime()
        let policy = RetryPolicy.download.waitingOutages(like: time.outage())
        #expect(policy.attempts == 4 && policy.budget == .seconds(120))
        var attempts = 0
        try await policy.run { () async throws -> Void in
            attempts += 1
            if attempts < 10 { throw Self.refused() }
        }
        #expect(attempts == 10)
        #expect(RetryPolicy.download.waitingOutages(like: nil).budget == nil)
    }

    @Test func requestsInsideAnOutageLoopLeaveTheirFailuresToIt() async throws {
        #expect(!RetryPolicy.insideOutageLoop)
        let inside = try await FakeTime().outage().run { RetryPolicy.insideOutageLoop }
        #expect(inside)
        let insideTransfer = try await RetryPolicy.download.run { RetryPolicy.insideOutageLoop }
        #expect(!insideTransfer, "a loop without a budget does not wait out outages")
    }

    @Test func withoutABudgetATransientFailureIsThrownAsTheErrorItCarries() async throws {
        var policy = RetryPolicy.upload(attempts: 1)
        policy.sleep = { _ in Issue.record("slept") }
        await #expect(throws: Self.refused().error) {
            try await policy.run { () async throws -> Void in throw Self.refused() }
        }
    }
}

/// Which answers and transport failures `APIClient.send` treats as transient.
@Suite struct TransientFailureTests {
    let thrown = VesselError(.unavailable, "the database did not answer within 5s; retry")

    @Test func unavailableWithRetryAfterIsTransient() throws {
        let failure = try #require(TransientFailure.answer(status: 503, reasonPhrase: "Service Unavailable", retryAfter: "2", vesselError: thrown, thrown: thrown))
        #expect(failure.retryAfter == .seconds(2))
        #expect(failure.reason == "the database did not answer within 5s (503)")
        #expect(failure.error == thrown)
    }

    @Test func unavailableWithoutRetryAfterIsAMisconfigurationAndFinal() {
        #expect(TransientFailure.answer(status: 503, reasonPhrase: "Service Unavailable", retryAfter: nil, vesselError: thrown, thrown: thrown) == nil)
        #expect(TransientFailure.answer(status: 503, reasonPhrase: "Service Unavailable", retryAfter: "soon", vesselError: thrown, thrown: thrown) == nil)
    }

    @Test func otherVesselErrorsAreFinalEvenWithRetryAfter() {
        for status: UInt in [400, 404, 409, 412, 500, 507] {
            let error = VesselError(.internalError, "x")
            #expect(TransientFailure.answer(status: status, reasonPhrase: "", retryAfter: "1", vesselError: error, thrown: error) == nil, "\(status)")
        }
    }

    @Test func aGatewayAnswerWithoutAVesselBodyIsTransient() throws {
        let thrown = VesselError(.unavailable, "the server answered 502 Bad Gateway")
        for status: UInt in [502, 503, 504] {
            #expect(TransientFailure.answer(status: status, reasonPhrase: "Bad Gateway", retryAfter: nil, vesselError: nil, thrown: thrown) != nil, "\(status)")
        }
        #expect(TransientFailure.answer(status: 500, reasonPhrase: "Internal Server Error", retryAfter: nil, vesselError: nil, thrown: thrown) == nil)
        #expect(TransientFailure.answer(status: 404, reasonPhrase: "Not Found", retryAfter: "1", vesselError: nil, thrown: thrown) == nil)
    }

    @Test func retryAfterIsSecondsOrAnHTTPDate() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(TransientFailure.retryAfter("7", now: now) == .seconds(7))
        #expect(TransientFailure.retryAfter(" 0 ", now: now) == .zero)
        #expect(TransientFailure.retryAfter("Tue, 14 Nov 2023 22:13:30 GMT", now: now) == .seconds(10))
        #expect(TransientFailure.retryAfter("Tue, 14 Nov 2023 22:13:00 GMT", now: now) == .zero, "a date in the past: at once")
        #expect(TransientFailure.retryAfter("-3", now: now) == nil)
        #expect(TransientFailure.retryAfter("later", now: now) == nil)
    }

    @Test func theReasonIsTheMessagesFirstClause() {
        #expect(TransientFailure.firstClause("database unavailable") == "database unavailable")
        #expect(TransientFailure.firstClause("the database did not answer within 2.5s; retry. Later") == "the database did not answer within 2.5s")
        #expect(TransientFailure.firstClause("storage down. Retry") == "storage down")
    }

    @Test func anUnknownErrorIsNotAConnectionFailure() {
        #expect(TransientFailure.connectionFailure(CancellationError()) == nil)
        #expect(TransientFailure.connectionFailure(VesselError(.internalError, "x")) == nil)
    }
}

extension TransientFailure: Equatable {
    public static func == (a: TransientFailure, b: TransientFailure) -> Bool {
        a.error == b.error && a.reason == b.reason && a.retryAfter == b.retryAfter
    }
}
