import VesselCore

/// Deployments (docs/deployments.md).
extension APIClient {
    /// `POST …/deployments/:env`: 200 applied or refused, 202 pending.
    public func deploy(_ model: ModelName, env: AliasName, _ request: DeployRequest) async throws -> DeploymentResult {
        try await call(.POST, "\(model.apiPath)/deployments/\(env)", body: request, as: DeploymentResult.self)
    }

    public func advanceDeployment(_ model: ModelName, env: AliasName, _ request: DeploymentChangeRequest) async throws -> DeploymentResult {
        try await call(.POST, "\(model.apiPath)/deployments/\(env)/advance", body: request, as: DeploymentResult.self)
    }

    public func rollbackDeployment(_ model: ModelName, env: AliasName, _ request: DeploymentChangeRequest) async throws -> DeploymentResult {
        try await call(.POST, "\(model.apiPath)/deployments/\(env)/rollback", body: request, as: DeploymentResult.self)
    }

    public func reportDeployment(_ model: ModelName, env: AliasName, _ request: DeploymentReportRequest) async throws -> DeploymentReportResult {
        try await call(.POST, "\(model.apiPath)/deployments/\(env)/reports", body: request, as: DeploymentReportResult.self)
    }

    /// The deployment and its routing document. - Throws: `not_found`.
    public func deployment(_ model: ModelName, env: AliasName) async throws -> DeploymentInfo {
        try await call(.GET, "\(model.apiPath)/deployments/\(env)", as: DeploymentInfo.self)
    }

    /// Long-polls the routing document (`?wait=&after=`): the deployment as soon as its
    /// revision passes `after` (at once when it already has), nil when `wait` (at most 60 s)
    /// ran out first. - Throws: `not_found` at once for a deployment that does not exist.
    public func waitForDeployment(_ model: ModelName, env: AliasName, after revision: Int, wait: Duration) async throws -> DeploymentInfo? {
        let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
        let path = "\(model.apiPath)/deployments/\(env)?wait=\(seconds)&after=\(revision)"
        let response = try await send(request(.GET, path), timeout: .seconds(Int64(seconds) + 30))
        let body = try await response.body.collect(upTo: 16 << 20)
        if response.status.code == 304 { return nil }
        return try decode(DeploymentInfo.self, body, path: "GET \(path)")
    }

    /// The deployment, or nil when the environment holds none of the model.
    public func deploymentIfAny(_ model: ModelName, env: AliasName) async throws -> DeploymentInfo? {
        do {
            return try await deployment(model, env: env)
        } catch let error as VesselError where error.code == .notFound {
            // Only "no deployment": an unknown model is still an error.
            _ = try await self.model(model)
            return nil
        }
    }

    /// Every deployment of `model` (when given), in `env` (when given), that the caller may read.
    public func deployments(model: ModelName?, env: AliasName?) async throws -> [DeploymentInfo] {
        if let model { return try await all("\(model.apiPath)/deployments", as: DeploymentInfo.self).filter { env == nil || $0.env == env?.value } }
        return try await all("/api/v1/deployments" + (env.map { "?env=\($0)" } ?? ""), as: DeploymentInfo.self)
    }

    /// Every change of a deployment, oldest first.
    public func deploymentHistory(_ model: ModelName, env: AliasName) async throws -> [DeploymentHistoryEntry] {
        try await all("\(model.apiPath)/deployments/\(env)/history", as: DeploymentHistoryEntry.self)
    }
}
