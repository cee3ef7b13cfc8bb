import VesselCore

/// How the client retries a failed step: which failures are worth another attempt, how many,
/// how long it keeps trying, and the pause before each. Pauses are pure functions of the
/// attempt (and an injected jitter), and the sleep and the clock are injected, so tests check
/// all of it without waiting.
///
/// Two kinds of failure, two limits:
/// - *ordinary* failures that `retries` accepts (a transfer's cut connection) are tried again
///   up to `attempts` times in all, after 200 ms, 400 ms, 600 ms, …;
/// - with a `budget` (`--retry-for`), a `TransientFailure` (no answer, or `unavailable` with
///   `Retry-After`: see that type) is tried again for as long as the outage lasts, up to
///   `budget` from its first failure, after pauses growing exponentially from
///   `firstPause` to `maxPause` with jitter, and never shorter than the server's
///   `Retry-After`. Each pause is announced to `notify` first. The last pause is cut to what is
///   left of the budget, so one more attempt is made at its end.
///
/// A policy with a budget is an *outage loop*: requests sent inside it (`APIClient.send`)
/// leave their transient failures to it instead of running a loop of their own, so loops never
/// nest and a step never waits longer than one budget.
struct RetryPolicy: Sendable {
    /// Attempts in all for ordinary failures, the first included (at least one is made).
    var attempts: Int
    /// Whether an ordinary failure may pass with another attempt; any other is thrown at once.
    var retries: @Sendable (any Error) -> Bool
    /// Waits between attempts: `Task.sleep` unless a test injects another.
    var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }

    /// How long an outage is waited out; nil: transient failures are not retried here.
    var budget: Duration?
    /// The pause before the first retry of an outage; each following one doubles, up to `maxPause`.
    var firstPause: Duration = .milliseconds(250)
    var maxPause: Duration = .seconds(5)
    /// The fraction of a pause kept, in 0.5...1, so clients that failed together spread out.
    var jitter: @Sendable () -> Double = { Double.random(in: 0.5...1) }
    /// The clock the budget is measured on.
    var now: @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    /// Told about each pause of an outage before it is taken.
    var notify: @Sendable (RetryNotice) -> Void = { _ in }

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

    /// The requests of a command run with `--retry-for budget`: transient failures only, for
    /// up to `budget`; nothing else is retried.
    static func outage(budget: Duration, notify: @escaping @Sendable (RetryNotice) -> Void = { _ in }) -> RetryPolicy {
        RetryPolicy(attempts: 1, retries: { _ in false }, budget: budget, notify: notify)
    }

    /// This policy, waiting out outages as `command` does (its budget, pauses, clock, sleep and
    /// notices); unchanged when `command` has no budget.
    func waitingOutages(like command: RetryPolicy?) -> RetryPolicy {
        guard let command, command.budget != nil else { return self }
        var policy = self
        policy.budget = command.budget
        policy.firstPause = command.firstPause
        policy.maxPause = command.maxPause
        policy.jitter = command.jitter
        policy.now = command.now
        policy.sleep = command.sleep
        policy.notify = command.notify
        return policy
    }

    /// Whether the current task runs inside an outage loop (a policy with a budget).
    @TaskLocal static var insideOutageLoop = false

    /// The pause after ordinary failed attempt `attempt` (counted from 1): 200 ms, 400 ms, …
    static func delay(after attempt: Int) -> Duration { .milliseconds(200 * attempt) }

    /// The pause before retry `retry` (counted from 1) of an outage, before jitter:
    /// `firstPause` doubled `retry - 1` times, at most `maxPause`.
    func backoff(retry: Int) -> Duration {
        var pause = firstPause
        for _ in 1..<max(retry, 1) {
            pause *= 2
            if pause >= maxPause { return maxPause }
        }
        return min(pause, maxPause)
    }

    /// Runs `body` until it succeeds, fails in a way this policy does not retry, or the
    /// attempts or the budget are spent; then throws the last failure (a `TransientFailure`
    /// as the `VesselError` it carries). A cancelled task stops in the pause (the sleep throws
    /// `CancellationError`).
    func run<T>(_ body: () async throws -> T) async throws -> T {
        var attempt = 1
        // The outage under way: when its first failure came, and how many retries it has had.
        var outage: (since: ContinuousClock.Instant, retries: Int)?
        while true {
            do {
                guard budget != nil else { return try await body() }
                return try await Self.$insideOutageLoop.withValue(true) { try await body() }
            } catch let failure as TransientFailure where budget != nil {
                let budget = budget ?? .zero
                let now = now()
                let since = outage?.since ?? now
                let left = budget - since.duration(to: now)
                guard left > .zero else { throw failure.exhausted(after: budget) }
                let retry = (outage?.retries ?? 0) + 1
                outage = (since, retry)
                let jittered = backoff(retry: retry) * min(1, max(0, jitter()))
                let pause = min(left, max(failure.retryAfter ?? .zero, jittered))
                notify(RetryNotice(reason: failure.reason, pause: pause, left: left))
                try await sleep(pause)
            } catch {
                // The server answered, or a transfer was cut: whatever outage there was is over.
                outage = nil
                try await sleep(try ordinary(error, attempt: &attempt))
            }
        }
    }

    /// The pause before retrying an ordinary failure; throws it when it is final or the
    /// attempts are spent.
    private func ordinary(_ error: any Error, attempt: inout Int) throws -> Duration {
        guard attempt < attempts, retries(error) else { throw TransientFailure.surfaced(error) }
        defer { attempt += 1 }
        return Self.delay(after: attempt)
    }
}
