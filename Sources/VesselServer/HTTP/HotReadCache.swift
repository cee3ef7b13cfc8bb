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
        var aliases: [String: Entry<ResolvedAlias>] = [:]
    }

    private let state = Mutex(State())
    let lifetime: Duration
    /// A map that grows past this is emptied (tokens and models are few; this bounds a flood).
    static let capacity = 10_000

    init(lifetime: Duration) {
        self.lifetime = lifetime
    }

    /// Forgets everything; called after every request that may have written.
    func invalidate() {
        state.withLock { state in
            state = State(generation: state.generation + 1)
        }
    }

    func principal(tokenHash: String, load: () async throws -> PrincipalInfo) async throws -> PrincipalInfo {
        try await cached(\.principals, tokenHash, load)
    }

    func role(_ principal: String, _ permission: Permission, _ model: ModelName?, load: () async throws -> Role?) async throws -> Role? {
        try await cached(\.roles, "\(principal)\n\(permission.rawValue)\n\(model?.description ?? "*")", load)
    }

    func alias(_ model: ModelName, _ alias: AliasName, load: () async throws -> ResolvedAlias) async throws -> ResolvedAlias {
        try await cached(\.aliases, "\(model)@\(alias.value)", load)
    }

    private func cached<Value: Sendable>(_ map: WritableKeyPath<State, [String: Entry<Value>]> & Sendable, _ key: String,
                                         _ load: () async throws -> Value) async throws -> Value {
        guard lifetime > .zero else { return try await load() }
        let now = ContinuousClock.now
        let (hit, generation) = state.withLock { state -> (Entry<Value>?, Int) in
            (state[keyPath: map][key].flatMap { $0.until > now ? $0 : nil }, state.generation)
        }
        if let hit { return hit.value }
        let value = try await load()
        let until = now + lifetime
        state.withLock { state in
            guard state.generation == generation else { return }
            if state[keyPath: map].count >= Self.capacity { state[keyPath: map].removeAll(keepingCapacity: true) }
            state[keyPath: map][key] = Entry(value: value, until: until)
        }
        return value
    }
}
