import VesselCore

/// Nodes and drift (docs/deployments.md, "Nodes and drift").
extension APIClient {
    /// `PUT …/deployments/:env/nodes/:node`: what this node serves now; answers its record.
    /// Safe to repeat: a report replaces the node's last one.
    /// - Throws: `invalid_argument` (name, slot, state), `not_found` (no such deployment),
    ///   `forbidden` when another principal reported this node name first.
    public func reportNode(model: ModelName, env: AliasName, node: String, report: NodeReportRequest) async throws -> NodeRecord {
        try NodeName.validate(node)
        return try await call(.PUT, "\(model.apiPath)/deployments/\(env)/nodes/\(node)", body: report, as: NodeRecord.self)
    }

    /// Every agent and endpoint of a deployment with its drift. - Throws: `not_found`.
    public func deploymentNodes(_ model: ModelName, env: AliasName) async throws -> [NodeRecord] {
        try await all("\(model.apiPath)/deployments/\(env)/nodes", as: NodeRecord.self)
    }

    /// `POST …/deployments/:env/endpoints` (maintainer). - Throws: `invalid_argument` for a URL
    /// the destination policy refuses, `not_found`, `already_exists`.
    public func addEndpoint(_ model: ModelName, env: AliasName, url: String, slot: NodeSlot?) async throws -> EndpointInfo {
        try await call(.POST, "\(model.apiPath)/deployments/\(env)/endpoints", body: AddEndpointRequest(url: url, slot: slot?.rawValue), as: EndpointInfo.self)
    }

    public func endpoints(_ model: ModelName, env: AliasName) async throws -> [EndpointInfo] {
        try await all("\(model.apiPath)/deployments/\(env)/endpoints", as: EndpointInfo.self)
    }

    /// `DELETE …/deployments/:env/endpoints?url=URL` (maintainer). - Throws: `not_found`.
    public func removeEndpoint(_ model: ModelName, env: AliasName, url: String) async throws {
        try await callNoContent(.DELETE, "\(model.apiPath)/deployments/\(env)/endpoints?url=\(url.percentEscaped)")
    }
}
