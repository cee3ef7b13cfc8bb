import VesselMetadata

/// When a failed delivery is tried again, and when it is given up: the wait doubles from
/// `initialBackoff` up to `maxBackoff` (times a jitter factor), and retries stop
/// `retryWindow` after the first attempt.
struct RetryPolicy: Sendable {
    let initialBackoff: Duration
    let maxBackoff: Duration
    let retryWindow: Duration
    /// A factor in 0.5…1 applied to each backoff (injected so tests can fix it).
    let jitter: @Sendable () -> Double

    init(options: WebhookOptions, jitter: @escaping @Sendable () -> Double) {
        initialBackoff = options.initialBackoff
        maxBackoff = options.maxBackoff
        retryWindow = options.retryWindow
        self.jitter = jitter
    }

    /// What a failed attempt at `at` means for a delivery with `attempts` earlier attempts,
    /// the first of them at `firstAttemptAt` (nil: this was the first): `dead` once the retry
    /// window is over, else `failed`, due again after its backoff but not after the window ends.
    func afterFailure(at: Int64, firstAttemptAt: Int64?, attempts: Int) -> (status: DeliveryAttempt.Status, nextAttemptAt: Int64) {
        let first = firstAttemptAt ?? at
        let window = BackgroundJobs.micros(retryWindow)
        if at - first >= window { return (.dead, at) }
        return (.failed, min(at + backoff(afterAttempt: attempts + 1), first + window))
    }

    /// initialBackoff × 2^(n−1), at most maxBackoff, times the jitter factor.
    func backoff(afterAttempt n: Int) -> Int64 {
        let base = Double(BackgroundJobs.micros(initialBackoff))
        let cap = Double(BackgroundJobs.micros(maxBackoff))
        let delay = min(cap, base * Double(1 << min(max(n - 1, 0), 40)))
        return Int64(delay * min(1, max(0, jitter())))
    }
}
