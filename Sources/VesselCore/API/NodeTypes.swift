/// Nodes and drift (issue 24, docs/deployments.md "Nodes and drift"): what each serving node of a
/// deployment reports it serves, against what its pool should hold.

/// Which pool a node follows: `live` follows whichever pool is live (every completed rollout
/// and rollback), `blue` and `green` follow that pool.
public enum NodeSlot: String, Codable, Sendable, CaseIterable {
    case live, blue, green

    public init(parsing text: String) throws(VesselError) {
        guard let slot = NodeSlot(rawValue: text) else { throw .invalidArgument("slot '\(text.prefix(64))' must be live, blue or green") }
        self = slot
    }

    /// The pool this slot names in `deployment`: the live one for `live`.
    public func pool(in deployment: DeploymentInfo) -> DeploymentSlot {
        switch self {
        case .live: deployment.live
        case .blue: .blue
        case .green: .green
        }
    }
}

/// What a node says about itself: its agent's state (`vessel agent`, docs/deployments.md).
public enum NodeState: String, Codable, Sendable, CaseIterable {
    case inSync = "in_sync"
    case idle
    case downloading
    case verificationFailed = "verification_failed"
    case switchFailed = "switch_failed"
    case error
    case incompatible

    public init(parsing text: String) throws(VesselError) {
        guard let state = NodeState(rawValue: text) else {
            throw .invalidArgument("state '\(text.prefix(64))' must be one of \(NodeState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = state
    }
}

/// The registry's verdict on a node, judged by the drift job (`vessel serve --drift-interval`):
/// `in_sync` (it serves its pool's digest), `drifted` (another digest for longer than
/// `--drift-grace`), `stale` (no report for three drift intervals), `unreachable` (an endpoint
/// whose `/health/version` could not be read).
public enum DriftState: String, Codable, Sendable, CaseIterable {
    case inSync = "in_sync"
    case drifted
    case stale
    case unreachable

    /// Whether entering this state is announced as `deployment.drift` (else `deployment.in_sync`).
    public var isDrift: Bool { self != .inSync }
}

/// A version as a node holds or should hold it: `{"version","digest"}`. `version` is null when
/// the node named only a digest (an endpoint that reports no version).
public struct NodeVersion: Codable, Sendable, Equatable {
    public var version: Int?
    public var digest: Digest

    public init(version: Int?, digest: Digest) {
        self.version = version
        self.digest = digest
    }
}

/// Node names: what `vessel agent --node` sends.
public enum NodeName {
    public static let maxLength = 128

    /// - Throws: `invalid_argument` unless `text` is 1–128 characters of letters, digits, `.`,
    ///   `_`, `-` or `:`.
    public static func validate(_ text: String) throws(VesselError) {
        let allowed = text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2E || byte == 0x5F || byte == 0x2D || byte == 0x3A
        }
        guard !text.isEmpty, text.utf8.count <= maxLength, allowed else {
            throw .invalidArgument("node name '\(text.prefix(64))' must be 1-\(maxLength) characters of letters, digits, '.', '_', '-' or ':'")
        }
    }
}

/// `PUT /api/v1/models/:owner/:name/deployments/:env/nodes/:node`: a node's state, sent by the
/// agent on every change and every few seconds.
public struct NodeReportRequest: Codable, Sendable, Equatable {
    /// `live`, `blue` or `green`: the pool the node follows.
    public var slot: String
    /// The digest the node serves now (`DeploymentInfo.slots[pool].digest` once in sync); null
    /// while it serves nothing.
    public var digest: Digest?
    public var version: Int?
    /// A `NodeState`.
    public var state: String
    public var message: String?
    /// The environment the node serves with (`vessel agent --freeze/--python/--image`); null
    /// when it reports none. The registry keeps the last one reported and judges deploys by it.
    public var environment: NodeEnvironment?

    public init(slot: String, digest: Digest?, version: Int?, state: String, message: String? = nil, environment: NodeEnvironment? = nil) {
        self.slot = slot
        self.digest = digest
        self.version = version
        self.state = state
        self.message = message
        self.environment = environment
    }

    /// - Throws: `invalid_argument` naming the first thing wrong.
    public func validate() throws(VesselError) {
        _ = try NodeSlot(parsing: slot)
        _ = try NodeState(parsing: state)
        if let version, version < 1 { throw .invalidArgument("version must be a positive integer") }
        if version != nil && digest == nil { throw .invalidArgument("a report naming a version must name its digest") }
        try environment?.validate()
    }
}

extension NodeReportRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(message, field: "message", max: Limits.reason)
        try Limits.check(slot, field: "slot", max: Limits.name)
        try Limits.check(state, field: "state", max: Limits.name)
    }
}

/// One node of a deployment as the registry sees it:
/// `{"node","kind","slot","desired","actual","reported_state","drift","since","last_seen","message"}`.
/// Agents are listed under their node name, endpoints under their URL.
public struct NodeRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// A node that reports itself (`vessel agent`).
        case agent
        /// A URL the registry polls (`vessel deploy endpoint add`).
        case endpoint
    }

    public var node: String
    public var kind: Kind
    public var slot: NodeSlot
    /// What the node's pool holds now; null while the pool is empty.
    public var desired: NodeVersion?
    /// What the node last said it serves; null when it serves nothing or was never heard.
    public var actual: NodeVersion?
    /// The node's own state (`NodeState`'s raw value) as last reported; null for an endpoint
    /// that reports none.
    public var reportedState: String?
    /// The drift job's verdict; null until the job first judged the node.
    public var drift: DriftState?
    /// When `drift` took its current value (RFC 3339).
    public var since: String?
    /// The last report (agents) or the last successful poll (endpoints).
    public var lastSeen: String?
    public var message: String?

    public init(node: String, kind: Kind, slot: NodeSlot, desired: NodeVersion?, actual: NodeVersion?, reportedState: String?, drift: DriftState?,
                since: String?, lastSeen: String?, message: String?) {
        self.node = node
        self.kind = kind
        self.slot = slot
        self.desired = desired
        self.actual = actual
        self.reportedState = reportedState
        self.drift = drift
        self.since = since
        self.lastSeen = lastSeen
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case node, kind, slot, desired, actual, drift, since, message
        case reportedState = "reported_state"
        case lastSeen = "last_seen"
    }
}

/// `POST …/deployments/:env/endpoints`: a serving endpoint the registry polls at
/// `URL/health/version`.
public struct AddEndpointRequest: Codable, Sendable, Equatable {
    public var url: String
    /// `live` (default), `blue` or `green`.
    public var slot: String?

    public init(url: String, slot: String? = nil) {
        self.url = url
        self.slot = slot
    }
}

extension AddEndpointRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(url, field: "url", max: Limits.url)
        try Limits.check(slot, field: "slot", max: Limits.name)
    }
}

/// An endpoint of a deployment: `{"url","slot","added_by","added_at"}` with its node record's
/// drift fields.
public struct EndpointInfo: Codable, Sendable, Equatable {
    public var url: String
    public var slot: NodeSlot
    public var addedBy: String
    public var addedAt: String
    public var desired: NodeVersion?
    public var actual: NodeVersion?
    public var drift: DriftState?
    public var since: String?
    public var lastSeen: String?
    public var message: String?

    public init(url: String, slot: NodeSlot, addedBy: String, addedAt: String, desired: NodeVersion?, actual: NodeVersion?, drift: DriftState?,
                since: String?, lastSeen: String?, message: String?) {
        self.url = url
        self.slot = slot
        self.addedBy = addedBy
        self.addedAt = addedAt
        self.desired = desired
        self.actual = actual
        self.drift = drift
        self.since = since
        self.lastSeen = lastSeen
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case url, slot, desired, actual, drift, since, message
        case addedBy = "added_by"
        case addedAt = "added_at"
        case lastSeen = "last_seen"
    }
}

/// `vessel deploy status MODEL --env ENV --json`: the deployment's fields plus `"nodes"`, every
/// agent and endpoint with its drift (read apart from the routing document, by
/// `GET …/deployments/:env/nodes`).
public struct DeploymentWithNodes: Encodable, Sendable {
    public var deployment: DeploymentInfo
    public var nodes: [NodeRecord]

    public init(deployment: DeploymentInfo, nodes: [NodeRecord]) {
        self.deployment = deployment
        self.nodes = nodes
    }

    enum CodingKeys: String, CodingKey { case nodes }

    public func encode(to encoder: any Encoder) throws {
        try deployment.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(nodes, forKey: .nodes)
    }
}
