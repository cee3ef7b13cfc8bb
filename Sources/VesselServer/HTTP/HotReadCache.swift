import NIOCore
import Synchronization
import VesselCore
import VesselMetadata

/// Keeps the answers to the hottest reads for a moment: token → principal, (principal,
/// permission, model) → role, and the current version of an alias. A serving fleet polling
/// `resolve` then costs the database a few queries a second instead of three or four per
/// request.
///
/// Consistency: every write through this replica clears the cache before its response is
/// sent (`invalidate`, from `WriteNotifyMiddleware`), so a client always reads its own
/// writes and every later caller sees them; a read that was in flight during a write does not
/// put its (possibly older) answer back. A write through *another* replica is seen here
/// within `lifetime` (50 ms by default) — the bound docs/decisions/0007-read-cache.md states,
/// which also covers a token that expires or is revoked elsewhere. Failures (unknown token,
/// forbidden, not found) are never cached. A lifetime of zero turns the cache off.
///
/// When an entry expires under load, the requests that miss it at the same moment wait for
/// one load instead of each querying the database (32 connections polling one alias turned
/// every expiry into 32 identical queries). A load is only shared by requests that started
/// under the same generation, so a request that began after a write never gets an answer
/// loaded before it.
final class HotReadCache: Sendable {
    private struct Entry<Value: Sendable>: Sendable {
        var value: Value
        var until: ContinuousClock.Instant
    }

    private struct State: Sendable {
        /// Bumped by every invalidation; an answer loaded under an older one is dropped.
        var generation = 0
        var principals: [String: Entry<PrincipalInfo>] = [:]
        var roles: [String: Entry<Role?>] = [:]
        var aliases: [String: Entry<EncodedAlias>] = [:]
        /// Loads in progress ("generation|key") and the requests waiting for their answer.
        /// Kept across invalidations: their waiters must still be answered.
        var flights: [String: [CheckedContinuation<Result<any Sendable, any Error>?, Never>]] = [:]
    }

    private let state = Mutex(State())
    let lifetime: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    /// A map that grows past this is emptied (tokens and models are few; this bounds a flood).
    static let capacity = 10_000

    /// - Parameter now: the clock entries expire by; injected by tests.
    init(lifetime: Duration, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.lifetime = lifetime
        self.now = now
    }

    /// Requests waiting for another one's load (tests watch it).
    var waiting: Int {
        state.withLock { $0.flights.values.reduce(0) { $0 + $1.count } }
    }

    /// Forgets everything; called after every request that may have written.
    func invalidate() {
        state.withLock { state in
            state = State(generation: state.generation + 1, flights: state.flights)
        }
    }

    /// Keyed by the bearer token itself (held in this process's memory only, like the request
    /// that carried it), so a hit skips hashing it; `load` hashes it for the database.
    func principal(token: String, load: () async throws -> PrincipalInfo) async throws -> PrincipalInfo {
        try await cached(\.principals, "p\n\(token)", load)
    }

    func role(_ principal: String, _ permission: Permission, _ model: ModelName?, load: () async throws -> Role?) async throws -> Role? {
        try await cached(\.roles, "r\n\(principal)\n\(permission.rawValue)\n\(model?.description ?? "*")", load)
    }

    /// A resolved alias with its response body, encoded once per load rather than per request.
    struct EncodedAlias: Sendable {
        let value: ResolvedAlias
        let json: ByteBuffer
    }

    func alias(_ model: ModelName, _ alias: AliasName, load: () async throws -> ResolvedAlias) async throws -> EncodedAlias {
        try await cached(\.aliases, "a\n\(model)@\(alias.value)") {
            let value = try await load()
            return EncodedAlias(value: value, json: try JSONResponse.body(value))
        }
    }

    private func cached<Value: Sendable>(_ map: WritableKeyPath<State, [String: Entry<Value>]> & Sendable, _ key: String,
                                         _ load: () async throws -> Value) async throws -> Value {
        guard lifetime > .zero else { return try await load() }
        let now = self.now()
        var generation = 0
        // nil: this request leads (loads and answers the others); else the hit or the leader's answer.
        let shared = await withCheckedContinuation { (waiter: CheckedContinuation<Result<any Sendable, any Error>?, Never>) in
            state.withLock { state in
                generation = state.generation
                if let hit = state[keyPath: map][key], hit.until > now {
                    waiter.resume(returning: .success(hit.value))
                } else if state.flights["\(generation)|\(key)"] != nil {
                    state.flights["\(generation)|\(key)"]!.append(waiter)
                } else {
                    state.flights["\(generation)|\(key)"] = []
                    waiter.resume(returning: nil)
                }
            }
        }
        if let shared, let value = try shared.get() as? Value { return value }
        if shared != nil { return try await load() }  // cannot happen: one key, one type
        let result: Result<Value, any Error>
        do { result = .success(try await load()) } catch { result = .failure(error) }
        let until = now + lifetime
        let waiters = state.withLock { state in
            if case .success(let value) = result, state.generation == generation {
                if state[keyPath: map].count >= Self.capacity { state[keyPath: map].removeAll(keepingCapacity: true) }
                state[keyPath: map][key] = Entry(value: value, until: until)
            }
            return state.flights.removeValue(forKey: "\(generation)|\(key)") ?? []
        }
        // A cancelled leader's waiters load for themselves.
        let answer: Result<any Sendable, any Error>? = switch result {
        case .success(let value): .success(value)
        case .failure(let error): error is CancellationError ? nil : .failure(error)
        }
        for waiter in waiters { waiter.resume(returning: answer) }
        return try result.get()
    }
}
