import VesselCore

/// How a transfer retries a failed step: how many attempts, which failures are worth another,
/// and the pause before each. The pause is a pure function of the attempt and the sleep is
/// injected, so tests check both without waiting.
struct RetryPolicy: Sendable {
    /// Attempts in all, the first included (at least one is made).
    var attempts: Int
    /// Whether a failure may pass with another attempt; any other is thrown at once.
    var retries: @Sendable (any Error) -> Bool
    /// Waits between attempts: `Task.sleep` unless a test injects another.
    var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }

    /// A download: a cut connection, an unreachable server or an `unavailable` answer is worth
    /// another attempt, which resumes where the last one stopped; any other `VesselError`
    /// (not found, digest mismatch, no space left) is final.
    static let download = RetryPolicy(attempts: 4, retries: { error in
        guard let error = error as? VesselError else { return true }
        return error.code == .unavailable
    })

    /// A request of a chunked upload: only `unavailable` (a cut connection, a restarting
    /// server) is retried.
    static func upload(attempts: Int) -> RetryPolicy {
        RetryPolicy(attempts: attempts, retries: { ($0 as? VesselError)?.code == .unavailable })
    }

    /// The pause after failed attempt `attempt` (counted from 1): 200 ms, 400 ms, 600 ms, …
    static func delay(after attempt: Int) -> Duration { .milliseconds(200 * attempt) }

    /// Runs `body` until it succeeds, fails in a way `retries` refuses, or the attempts are
    /// spent; then throws the last failure. A cancelled task stops in the pause (the sleep
    /// throws `CancellationError`).
    func run<T>(_ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch {
                guard attempt < attempts, retries(error) else { throw error }
                try await sleep(Self.delay(after: attempt))
                attempt += 1
            }
        }
    }
}
