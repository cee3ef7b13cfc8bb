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
