/// What the lifecycle job knows of one committed version when it judges a model.
public struct RetentionCandidate: Sendable, Equatable {
    public var number: Int
    public var state: VersionState
    /// When it was committed (microseconds since the epoch).
    public var committedAt: Int64
    /// An alias points at it.
    public var aliased: Bool
    /// A deployment pool (blue or green) holds it.
    public var deployed: Bool
    /// `vessel hold` holds it.
    public var held: Bool

    public init(number: Int, state: VersionState, committedAt: Int64, aliased: Bool = false, deployed: Bool = false, held: Bool = false) {
        self.number = number
        self.state = state
        self.committedAt = committedAt
        self.aliased = aliased
        self.deployed = deployed
        self.held = held
    }
}

/// The retention rules as one pure function: which of a model's versions a policy deletes.
///
/// A version is kept when any rule keeps it: among the model's newest `keepLast` versions,
/// younger than `keepFor`, aliased, deployed, held, or the model's latest `ready` version.
/// A quarantined version older than `deleteQuarantinedAfter` goes whatever `keepLast`,
/// `keepFor` say, unless it is held (aliased or deployed ones stay: the tombstone refuses them).
/// Versions are judged only by a policy with `keepLast` or `keepFor`; a policy with neither
/// deletes only old quarantined versions; no policy deletes nothing.
public enum RetentionRules {
    /// The versions of one model `policy` deletes at `now`, newest first, with the reason.
    /// Pending and deleted versions in `versions` are ignored.
    public static func doomed(_ versions: [RetentionCandidate], policy: RetentionPolicyInfo?, now: Int64) -> [(number: Int, reason: String)] {
        guard let policy else { return [] }
        let committed = versions.filter { $0.state == .ready || $0.state == .quarantined || $0.state == .archived }
            .sorted { $0.number > $1.number }
        let latestReady = committed.first { $0.state == .ready }?.number
        let newest = Set(committed.prefix(policy.keepLast ?? 0).map(\.number))
        let judgesAll = policy.keepLast != nil || policy.keepFor != nil
        var result: [(number: Int, reason: String)] = []
        for version in committed {
            if version.held || version.aliased || version.deployed { continue }
            let age = now - version.committedAt
            if version.state == .quarantined, let limit = policy.deleteQuarantinedAfter, age >= limit * 1_000_000 {
                result.append((version.number, "quarantined for longer than \(Self.text(limit)) (policy \(policy.scope))"))
                continue
            }
            guard judgesAll, version.number != latestReady, !newest.contains(version.number) else { continue }
            if let keepFor = policy.keepFor, age < keepFor * 1_000_000 { continue }
            var why: [String] = []
            if let keepLast = policy.keepLast { why.append("not among the newest \(keepLast)") }
            if let keepFor = policy.keepFor { why.append("older than \(Self.text(keepFor))") }
            result.append((version.number, why.joined(separator: ", ") + " (policy \(policy.scope))"))
        }
        return result
    }

    /// The policy that governs `model`: the most specific scope's, whole.
    public static func governing(_ model: ModelName, among policies: [RetentionPolicyInfo]) -> RetentionPolicyInfo? {
        for scope in Scope.covering(model) {
            if let policy = policies.first(where: { $0.scope == scope.description }) { return policy }
        }
        return nil
    }

    /// Seconds as written on the command line: `7d`, `24h`, `30m`, `90s`.
    public static func text(_ seconds: Int64) -> String {
        if seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
        if seconds % 3_600 == 0 { return "\(seconds / 3_600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
