import VesselCore

/// Nodes and drift (issue 24, docs/deployments.md "Nodes and drift"): what each serving node of
/// a deployment reports it serves (agents report themselves; endpoints are polled by the
/// registry), and the drift job's verdict on each. A node report is node state, not a change:
/// it is not audited and emits no event. Endpoints are configuration: adding and removing one
/// is audited. Drift transitions emit `deployment.drift` and `deployment.in_sync`.
public protocol NodeStore: Sendable {
    /// Records a node's report at `now` and answers its record. The node belongs to the
    /// principal that first reported it under this deployment.
    /// - Throws: `invalid_argument` (a bad name, slot, state), `not_found` (no such
    ///   deployment), `forbidden` when another principal owns the node.
    func reportNode(model: ModelName, env: AliasName, node: String, _ report: NodeReportRequest, principal: String) async throws -> NodeRecord
    /// Every agent and endpoint of a deployment, agents first, each ordered by name.
    /// - Throws: `not_found` when the environment holds no deployment of the model.
    func nodes(model: ModelName, env: AliasName) async throws -> [NodeRecord]
    /// The last environment each agent of a deployment reported (agents that reported none are
    /// left out), ordered by node name; empty for an environment without nodes.
    func nodeEnvironments(model: ModelName, env: AliasName) async throws -> [(node: String, environment: NodeEnvironment)]
    /// Adds a serving endpoint the drift job polls at `url/health/version` (audited
    /// `deployment.endpoint.add`). The URL is checked against the destination policy by the caller.
    /// - Throws: `not_found`, `already_exists` when the deployment has this URL already.
    func addEndpoint(model: ModelName, env: AliasName, url: String, slot: NodeSlot, change: ChangeContext) async throws -> EndpointInfo
    /// The deployment's endpoints, ordered by URL. - Throws: `not_found`.
    func endpoints(model: ModelName, env: AliasName) async throws -> [EndpointInfo]
    /// Removes an endpoint (audited `deployment.endpoint.remove`). - Throws: `not_found`.
    func removeEndpoint(model: ModelName, env: AliasName, url: String, change: ChangeContext) async throws
}

/// What the drift job (`vessel serve --drift-interval`) reads and writes: the endpoints to poll,
/// what their polls read, and the verdicts. Nothing here is audited; a verdict that changes
/// emits `deployment.drift` or `deployment.in_sync` in the transaction that records it.
public protocol DriftStore: Sendable {
    /// Every endpoint of every deployment.
    func endpointTargets() async throws -> [EndpointTarget]
    /// Records what each poll read (or why it failed) at `now`, in one transaction.
    func recordEndpointPolls(_ polls: [(EndpointTarget, EndpointPoll)], now: Int64) async throws
    /// Judges every node and endpoint at `now` (`DriftJudge`), records the verdicts that
    /// changed with their events, and answers how many changed and the drifted count of every
    /// deployment that has nodes.
    func judgeDrift(now: Int64, policy: DriftPolicy) async throws -> DriftRound
}

/// One endpoint of one deployment.
public struct EndpointTarget: Sendable, Hashable {
    public var model: ModelName
    public var env: String
    public var url: String

    public init(model: ModelName, env: String, url: String) {
        self.model = model
        self.env = env
        self.url = url
    }
}

/// What one poll of `URL/health/version` read.
public enum EndpointPoll: Sendable, Equatable {
    /// It answered the digest it serves (and its version and state, when it named them).
    case serving(digest: Digest, version: Int?, state: String?)
    /// It could not be read: refused by the destination policy, no answer in time, not 200,
    /// too large, or no `digest` in its JSON.
    case unreachable(String)
}

/// The drift rules' durations, in microseconds.
public struct DriftPolicy: Sendable {
    /// How long a node may serve another digest than its slot's before it is `drifted`.
    public var grace: Int64
    /// How long an agent may go without reporting before it is `stale` (three drift intervals).
    public var staleAfter: Int64

    public init(grace: Int64, staleAfter: Int64) {
        self.grace = grace
        self.staleAfter = staleAfter
    }
}

/// What one judging round did.
public struct DriftRound: Sendable, Equatable {
    /// Verdicts that changed (each with its event, when announced).
    public var transitions: Int
    /// `drifted` nodes and endpoints per deployment ("owner/name env"), every deployment with
    /// nodes included (0 when none drifted).
    public var drifted: [String: Int]

    public init(transitions: Int, drifted: [String: Int]) {
        self.transitions = transitions
        self.drifted = drifted
    }
}
