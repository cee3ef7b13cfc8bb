import Synchronization

/// How many API requests are being answered right now, so background work (webhook delivery)
/// can let them finish first: `quiet` waits until none is, for a bounded time.
public final class RequestActivity: Sendable {
    private let inFlight = Atomic<Int>(0)
    private let idle = WebhookWakeup()

    public init() {}

    func enter() { inFlight.add(1, ordering: .relaxed) }

    func leave() {
        if inFlight.subtract(1, ordering: .relaxed).newValue == 0 { idle.signal() }
    }

    /// Returns when no request is in flight, or after `limit` (so a server that is never idle
    /// still delivers, more slowly), or when the task is cancelled.
    func quiet(upTo limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while inFlight.load(ordering: .relaxed) > 0, !Task.isCancelled {
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { return }
            await idle.wait(upTo: left)
        }
    }
}
