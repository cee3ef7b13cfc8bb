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
    /// Adds a serving endpoint the drift job polls at `url/health/version` (audited
    /// `deployment.endpoint.add`). The URL is checked against the destination policy by the caller.
    /// - Throws: `not_found`, `already_exists` when the deployment has this URL already.
    func addEndpoint(model: ModelName, env: AliasName, url: String, slot: NodeSlot, change: ChangeContext) async throws -> EndpointInfo
    /// The deployment's endpoints, ordered by URL. - Throws: `not_found`.
    func endpoints(model: ModelName, env: AliasName) async throws -> [EndpointInfo]
    /// Removes an endpoint (audited `deployment.endpoint.remove`). - Throws: `not_found`.
    func removeEndpoint(model: ModelName, env: AliasName, url: String, change: ChangeContext) async throws
}
