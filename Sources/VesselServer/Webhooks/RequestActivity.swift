import Synchronization

/// How busy the API is, so background work (webhook delivery) takes a bounded share of the
/// machine while requests are being answered.
///
/// `pace` lets a caller through at once when no request has been in flight for `idleAfter`;
/// otherwise it gives out one turn per `interval`, in the order callers ask (each caller
/// reserves the next free turn and sleeps until it). Like a database's cost-based vacuum
/// delay: the API keeps its latency under a burst, deliveries fall behind during it and
/// catch up at full speed once it is over.
public final class RequestActivity: Sendable {
    private struct State {
        var inFlight = 0
        /// When the last request in flight ended.
        var lastEnded: ContinuousClock.Instant?
        /// The next turn not yet given out while busy.
        var nextTurn = ContinuousClock.now
    }

    /// How long the API must have had no request in flight to count as idle: by default
    /// 1 ms, longer than the gap between one client's back-to-back requests.
    let idleAfter: Duration
    private let state = Mutex(State())

    public init(idleAfter: Duration = .milliseconds(1)) {
        self.idleAfter = idleAfter
    }

    func enter() { state.withLock { $0.inFlight += 1 } }

    /// Requests counted in flight now.
    var inFlight: Int { state.withLock { $0.inFlight } }

    func leave() {
        state.withLock { state in
            state.inFlight -= 1
            if state.inFlight == 0 { state.lastEnded = .now }
        }
    }

    /// Returns at once while the API is idle; while it is busy, when this caller's turn
    /// comes, one turn per `interval`. A caller already asleep keeps its turn if the API
    /// goes idle meanwhile, so the wait is bounded by the callers queued ahead of it.
    func pace(every interval: Duration) async {
        let idleAfter = idleAfter
        let wait: Duration? = state.withLock { state in
            let now = ContinuousClock.now
            let busy = state.inFlight > 0 || state.lastEnded.map { $0.duration(to: now) < idleAfter } == true
            guard busy else {
                state.nextTurn = now
                return nil
            }
            let turn = max(now, state.nextTurn)
            state.nextTurn = turn + interval
            return turn > now ? now.duration(to: turn) : nil
        }
        if let wait { try? await Task.sleep(for: wait) }
    }
}
