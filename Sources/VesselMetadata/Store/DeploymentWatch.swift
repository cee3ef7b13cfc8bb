import Synchronization

/// Who is waiting for a deployment to change: the long-polls of `GET …/deployments/:env?wait=`
/// on this replica (docs/deployments.md, "Following the routing document").
///
/// A change is published *after* its transaction committed, with the revision it wrote: on this
/// replica by the store itself (`SQLMetadataStore.write` runs the publication once the
/// transaction committed), from other replicas through PostgreSQL's `NOTIFY` (`PostgresListener`).
/// A subscription for a revision above `after` is woken by a publication of a higher revision of
/// its deployment; `wakeAll()` wakes every subscription (after the listener reconnected, when
/// notifications may have been missed). A woken waiter always re-reads the deployment: a
/// publication is a hint, never the answer, so a duplicate or a spurious one costs one read.
///
/// A subscription stays subscribed until it is cancelled, across any number of wake-ups, so no
/// publication between two `wait()`s is lost. Each event — subscribing, each publication,
/// `wakeAll()` — takes a **ticket** from one increasing sequence: `since` for the subscription,
/// the wake-up's ticket as `wait()`'s result. A read that started after a ticket was taken sees
/// every change published before it, which lets waiters woken together share one read, and a
/// new waiter reuse the last read when nothing was published since it began (`ticket()`,
/// `lastChange(_:)`, and `DeploymentController`'s `SharedReads`).
///
///     let subscription = watch.subscribe(key, after: after)   // before the first read
///     defer { subscription.cancel() }
///     var fresh = subscription.since
///     while true {
///         let current = try await read(startedAfter: fresh)
///         if current.revision > after { return current }
///         fresh = await subscription.wait()
///     }
public final class DeploymentWatch: Sendable {
    /// The PostgreSQL channel changes are announced on.
    public static let channel = "vessel_deployments"

    /// One deployment: its model (`owner/name`) and environment.
    public struct Key: Hashable, Sendable, CustomStringConvertible {
        public let model: String
        public let env: String

        public init(model: String, env: String) {
            self.model = model
            self.env = env
        }

        public var description: String { "\(model) \(env)" }
    }

    private struct Waiter {
        var after: Int
        /// Set while `wait()` is suspended.
        var continuation: CheckedContinuation<Int, Never>?
        /// A wake-up that came while no `wait()` was suspended: the next one returns it at once.
        var pending: Int?
    }

    private struct State {
        var tickets = 0
        var waiters: [Key: [Int: Waiter]] = [:]
        /// The ticket of each deployment's last publication, and of the last `wakeAll()`.
        var published: [Key: Int] = [:]
        var wokeAll = 0
        var waiting = 0
        /// Tests: resumed once at least `count` subscriptions are suspended in `wait()`.
        var observers: [Int: (count: Int, continuation: CheckedContinuation<Void, Never>)] = [:]

        mutating func ticket() -> Int {
            tickets += 1
            return tickets
        }

        /// Wakes `waiter` with `ticket`: its suspended `wait()` now, or the next one.
        mutating func wake(_ key: Key, _ id: Int, ticket: Int, into woken: inout [(CheckedContinuation<Int, Never>, Int)]) {
            guard let waiter = waiters[key]?[id] else { return }
            if let continuation = waiter.continuation {
                woken.append((continuation, ticket))
                waiters[key]?[id]?.continuation = nil
                waiting -= 1
            } else {
                waiters[key]?[id]?.pending = ticket
            }
        }
    }

    private let state = Mutex(State())

    public init() {}

    /// A new ticket: a read started after this call sees every change published before it.
    public func ticket() -> Int { state.withLock { $0.ticket() } }

    /// A subscription for a revision of `key` above `after`, from now until it is cancelled.
    public func subscribe(_ key: Key, after: Int) -> Subscription {
        let id = state.withLock { state -> Int in
            let id = state.ticket()
            state.waiters[key, default: [:]][id] = Waiter(after: after)
            return id
        }
        return Subscription(watch: self, key: key, id: id)
    }

    /// `key` changed to `revision`: wakes its subscriptions for a lower revision.
    public func publish(_ key: Key, revision: Int) {
        let woken = state.withLock { state -> [(CheckedContinuation<Int, Never>, Int)] in
            let ticket = state.ticket()
            state.published[key] = ticket
            guard let waiters = state.waiters[key] else { return [] }
            var woken: [(CheckedContinuation<Int, Never>, Int)] = []
            for (id, waiter) in waiters where waiter.after < revision { state.wake(key, id, ticket: ticket, into: &woken) }
            return woken
        }
        for (continuation, ticket) in woken { continuation.resume(returning: ticket) }
    }

    /// Wakes every subscription: each re-reads its deployment (changes may have gone unannounced).
    public func wakeAll() {
        let woken = state.withLock { state -> [(CheckedContinuation<Int, Never>, Int)] in
            let ticket = state.ticket()
            state.wokeAll = ticket
            var woken: [(CheckedContinuation<Int, Never>, Int)] = []
            for (key, waiters) in state.waiters {
                for id in waiters.keys { state.wake(key, id, ticket: ticket, into: &woken) }
            }
            return woken
        }
        for (continuation, ticket) in woken { continuation.resume(returning: ticket) }
    }

    /// The ticket of the last publication of `key` or `wakeAll()`, whichever came later: a read
    /// of `key` that started after it has seen every change published so far.
    public func lastChange(_ key: Key) -> Int {
        state.withLock { max($0.published[key] ?? 0, $0.wokeAll) }
    }

    /// Subscriptions suspended in `wait()` now.
    public var waiting: Int { state.withLock { $0.waiting } }

    /// Returns once at least `count` subscriptions are suspended in `wait()`, or the task is
    /// cancelled (for tests: a long-poll is known to be waiting, without sleeping on it).
    public func untilWaiting(atLeast count: Int) async {
        let id = state.withLock { $0.ticket() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.waiting >= count || Task.isCancelled { return true }
                    state.observers[id] = (count, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.observers.removeValue(forKey: id) }?.continuation.resume()
        }
    }

    /// `NOTIFY`'s payload for a change: `owner/name env revision` (none of them holds a space).
    public static func payload(_ key: Key, revision: Int) -> String { "\(key.model) \(key.env) \(revision)" }

    /// A payload back to its change; nil when it is not one (then everyone should re-read).
    public static func parse(_ payload: String) -> (Key, Int)? {
        let parts = payload.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, let revision = Int(parts[2]) else { return nil }
        return (Key(model: String(parts[0]), env: String(parts[1])), revision)
    }

    /// A notification from another replica (or this one's own, echoed): publishes it, or wakes
    /// everyone when it cannot be read.
    public func received(_ payload: String) {
        if let (key, revision) = Self.parse(payload) { publish(key, revision: revision) } else { wakeAll() }
    }

    fileprivate func suspend(_ key: Key, _ id: Int, _ continuation: CheckedContinuation<Int, Never>) {
        let (now, observers) = state.withLock { state -> (Int?, [CheckedContinuation<Void, Never>]) in
            guard let waiter = state.waiters[key]?[id] else { return (state.ticket(), []) }
            if let pending = waiter.pending {
                state.waiters[key]?[id]?.pending = nil
                return (pending, [])
            }
            state.waiters[key]?[id]?.continuation = continuation
            state.waiting += 1
            let waiting = state.waiting
            let due = state.observers.filter { $0.value.count <= waiting }
            for id in due.keys { state.observers[id] = nil }
            return (nil, due.values.map(\.continuation))
        }
        if let now { continuation.resume(returning: now) }
        for observer in observers { observer.resume() }
    }

    fileprivate func remove(_ key: Key, _ id: Int) {
        let resume = state.withLock { state -> (CheckedContinuation<Int, Never>, Int)? in
            guard let waiter = state.waiters[key]?.removeValue(forKey: id) else { return nil }
            if state.waiters[key]?.isEmpty == true { state.waiters[key] = nil }
            guard let continuation = waiter.continuation else { return nil }
            state.waiting -= 1
            return (continuation, state.ticket())
        }
        if let (continuation, ticket) = resume { continuation.resume(returning: ticket) }
    }

    /// One subscription. One `wait()` at a time; `cancel()` when done with it (idempotent).
    public final class Subscription: Sendable {
        let watch: DeploymentWatch
        let key: Key
        let id: Int

        /// The ticket taken when it subscribed: a read started after it is fresh enough.
        public var since: Int { id }

        fileprivate init(watch: DeploymentWatch, key: Key, id: Int) {
            self.watch = watch
            self.key = key
            self.id = id
        }

        /// Returns the ticket of the next wake-up (a publication of a higher revision of the
        /// deployment, or `wakeAll()`), at once when one came since the last `wait()`; or a
        /// fresh ticket when the task is cancelled or the subscription was.
        @discardableResult
        public func wait() async -> Int {
            let watch = watch, key = key, id = id
            return await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in watch.suspend(key, id, continuation) }
            } onCancel: {
                watch.remove(key, id)
            }
        }

        /// Stops waiting (a suspended `wait()` returns).
        public func cancel() { watch.remove(key, id) }

        deinit { watch.remove(key, id) }
    }
}
