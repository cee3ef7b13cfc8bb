import Synchronization

/// Who is waiting for a deployment to change: the long-polls of `GET …/deployments/:env?wait=`
/// on this replica (docs/deployments.md, "Following the routing document").
///
/// A change is published *after* its transaction committed, with the revision it wrote: on this
/// replica by the store itself (`SQLMetadataStore.write` runs the publication once the
/// transaction committed), from other replicas through PostgreSQL's `NOTIFY` (`PostgresListener`).
/// A waiter for a revision above `after` is woken by a publication of a higher revision of its
/// deployment; `wakeAll()` wakes every waiter, so each re-reads (after the listener reconnected,
/// when notifications may have been missed). A woken waiter always re-reads the deployment: a
/// publication is a hint, never the answer, so a duplicate or a spurious one costs one read.
///
/// Subscribe *before* reading, then wait: a change committed between the read and the wait
/// wakes the subscription, which then returns from `wait()` at once.
///
///     while true {
///         let subscription = watch.subscribe(key, after: after)
///         defer { subscription.cancel() }
///         let current = try await read()
///         if current.revision > after { return current }
///         await subscription.wait()
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
        /// Set once `wait()` suspends.
        var continuation: CheckedContinuation<Void, Never>?
    }

    private struct State {
        var nextID = 0
        /// Waiters not woken yet; a subscription missing from here has been woken.
        var waiters: [Key: [Int: Waiter]] = [:]
        var waiting = 0
        /// Tests: resumed once at least `count` subscriptions are suspended in `wait()`.
        var observers: [Int: (count: Int, continuation: CheckedContinuation<Void, Never>)] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// A waiter for a revision of `key` above `after`.
    public func subscribe(_ key: Key, after: Int) -> Subscription {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            state.waiters[key, default: [:]][state.nextID] = Waiter(after: after)
            return state.nextID
        }
        return Subscription(watch: self, key: key, id: id)
    }

    /// `key` changed to `revision`: wakes its waiters for a lower revision.
    public func publish(_ key: Key, revision: Int) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard let waiters = state.waiters[key] else { return [] }
            var woken: [CheckedContinuation<Void, Never>] = []
            var kept: [Int: Waiter] = [:]
            for (id, waiter) in waiters {
                if waiter.after < revision {
                    if let continuation = waiter.continuation {
                        woken.append(continuation)
                        state.waiting -= 1
                    }
                } else {
                    kept[id] = waiter
                }
            }
            state.waiters[key] = kept.isEmpty ? nil : kept
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Wakes every waiter: each re-reads its deployment (changes may have gone unannounced).
    public func wakeAll() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let woken = state.waiters.values.flatMap { $0.values.compactMap(\.continuation) }
            state.waiters = [:]
            state.waiting = 0
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Subscriptions suspended in `wait()` now.
    public var waiting: Int { state.withLock { $0.waiting } }

    /// Returns once at least `count` subscriptions are suspended in `wait()`, or the task is
    /// cancelled (for tests: a long-poll is known to be waiting, without sleeping on it).
    public func untilWaiting(atLeast count: Int) async {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
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

    fileprivate func suspend(_ key: Key, _ id: Int, _ continuation: CheckedContinuation<Void, Never>) {
        let (resumeNow, observers) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            guard state.waiters[key]?[id] != nil else { return (true, []) }
            state.waiters[key]?[id]?.continuation = continuation
            state.waiting += 1
            let waiting = state.waiting
            let due = state.observers.filter { $0.value.count <= waiting }
            for id in due.keys { state.observers[id] = nil }
            return (false, due.values.map(\.continuation))
        }
        if resumeNow { continuation.resume() }
        for observer in observers { observer.resume() }
    }

    fileprivate func remove(_ key: Key, _ id: Int) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiters[key]?.removeValue(forKey: id) else { return nil }
            if state.waiters[key]?.isEmpty == true { state.waiters[key] = nil }
            if waiter.continuation != nil { state.waiting -= 1 }
            return waiter.continuation
        }
        continuation?.resume()
    }

    /// One waiter. `wait()` at most once; `cancel()` when done with it (idempotent).
    public final class Subscription: Sendable {
        let watch: DeploymentWatch
        let key: Key
        let id: Int

        fileprivate init(watch: DeploymentWatch, key: Key, id: Int) {
            self.watch = watch
            self.key = key
            self.id = id
        }

        /// Returns when a higher revision of the deployment was published (also before this
        /// call), when `wakeAll()` was called, or when the task is cancelled.
        public func wait() async {
            let watch = watch, key = key, id = id
            await withTaskCancellationHandler {
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
