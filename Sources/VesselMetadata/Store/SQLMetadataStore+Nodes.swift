import SQLKit
import VesselCore

/// Node reports and endpoints (`NodeStore`). Reports are node state: written without audit
/// entry or event. Endpoints are configuration: audited.
extension SQLMetadataStore: NodeStore {
    public func reportNode(model: ModelName, env: AliasName, node: String, _ report: NodeReportRequest, principal: String) async throws -> NodeRecord {
        try NodeName.validate(node)
        try report.validate()
        let slot = try NodeSlot(parsing: report.slot)
        let now = clock()
        let digest = report.digest?.description
        // Kept until the next report that carries one (a report without leaves it).
        let environment = try report.environment.map { try Self.encodeJSON($0) }
        return try await write { db -> NodeRecord in
            let modelID = try await self.modelID(db, model)
            guard let deployment = try await self.deploymentRow(db, modelID: modelID, env: env.value) else { throw Self.noDeployment(model, env.value) }
            // The first report makes the node; concurrent first reports agree on one owner.
            try await db.raw("""
                INSERT INTO deployment_nodes (model_id, env, node, owner, slot, digest, version, state, message, first_seen, last_seen)
                VALUES (\(bind: modelID), \(bind: env.value), \(bind: node), \(bind: principal), \(bind: slot.rawValue), \(bind: digest), \(bind: report.version),
                  \(bind: report.state), \(bind: report.message), \(bind: now), \(bind: now))
                ON CONFLICT (model_id, env, node) DO NOTHING
                """).run()
            let owner = try await db.raw("""
                SELECT owner FROM deployment_nodes WHERE model_id = \(bind: modelID) AND env = \(bind: env.value) AND node = \(bind: node)
                """).first()?.decode(column: "owner", as: String.self)
            guard owner == principal else {
                throw VesselError.forbidden("node '\(node)' of \(model) in '\(env)' belongs to another principal; report under another --node name")
            }
            // A node that changed pool starts afresh: its old mismatch says nothing about the new pool.
            try await db.raw("""
                UPDATE deployment_nodes SET digest = \(bind: digest), version = \(bind: report.version), state = \(bind: report.state),
                  message = \(bind: report.message), last_seen = \(bind: now), environment = COALESCE(\(bind: environment), environment),
                  mismatch_since = CASE WHEN slot = \(bind: slot.rawValue) THEN mismatch_since ELSE NULL END, slot = \(bind: slot.rawValue)
                WHERE model_id = \(bind: modelID) AND env = \(bind: env.value) AND node = \(bind: node)
                """).run()
            let row = try await db.raw("""
                \(unsafeRaw: Self.nodeQuery) WHERE model_id = \(bind: modelID) AND env = \(bind: env.value) AND node = \(bind: node)
                """).first()
            guard let row else { throw VesselError.internalError("node '\(node)' vanished while it was reported") }
            return try Self.nodeRecord(row, kind: .agent, deployment: deployment)
        }
    }

    public func nodes(model: ModelName, env: AliasName) async throws -> [NodeRecord] {
        try await backend.read { db -> [NodeRecord] in
            let modelID = try await self.modelID(db, model)
            guard let deployment = try await self.deploymentRow(db, modelID: modelID, env: env.value) else { throw Self.noDeployment(model, env.value) }
            let agents = try await db.raw("""
                \(unsafeRaw: Self.nodeQuery) WHERE model_id = \(bind: modelID) AND env = \(bind: env.value) ORDER BY node
                """).all().map { try Self.nodeRecord($0, kind: .agent, deployment: deployment) }
            let endpoints = try await db.raw("""
                \(unsafeRaw: Self.endpointQuery) WHERE model_id = \(bind: modelID) AND env = \(bind: env.value) ORDER BY url
                """).all().map { try Self.nodeRecord($0, kind: .endpoint, deployment: deployment) }
            return agents + endpoints
        }
    }

    public func nodeEnvironments(model: ModelName, env: AliasName) async throws -> [(node: String, environment: NodeEnvironment)] {
        try await backend.read { db -> [(node: String, environment: NodeEnvironment)] in
            let modelID = try await self.modelID(db, model)
            return try await db.raw("""
                SELECT node, environment FROM deployment_nodes
                WHERE model_id = \(bind: modelID) AND env = \(bind: env.value) AND environment IS NOT NULL ORDER BY node
                """).all().map { row in
                (try row.decode(column: "node", as: String.self), try Self.decodeJSON(NodeEnvironment.self, try row.decode(column: "environment", as: String.self)))
            }
        }
    }

    public func addEndpoint(model: ModelName, env: AliasName, url: String, slot: NodeSlot, change: ChangeContext) async throws -> EndpointInfo {
        try Limits.check(url, field: "url", max: Limits.url)
        let now = clock()
        return try await write(conflictMessage: "\(model) in '\(env)' has endpoint \(url) already") { db -> EndpointInfo in
            let modelID = try await self.modelID(db, model)
            guard let deployment = try await self.deploymentRow(db, modelID: modelID, env: env.value) else { throw Self.noDeployment(model, env.value) }
            try await db.raw("""
                INSERT INTO deployment_endpoints (model_id, env, url, slot, added_by, added_at)
                VALUES (\(bind: modelID), \(bind: env.value), \(bind: url), \(bind: slot.rawValue), \(bind: change.actor), \(bind: now))
                """).run()
            try await self.audit(db, change, at: now, action: "deployment.endpoint.add", target: "deployment/\(model)@\(env)", model: model,
                                 after: "endpoint \(url) slot \(slot.rawValue)")
            guard let row = try await db.raw("""
                \(unsafeRaw: Self.endpointQuery) WHERE model_id = \(bind: modelID) AND env = \(bind: env.value) AND url = \(bind: url)
                """).first() else { throw VesselError.internalError("endpoint \(url) vanished while it was added") }
            return try Self.endpointInfo(row, deployment: deployment)
        }
    }

    public func endpoints(model: ModelName, env: AliasName) async throws -> [EndpointInfo] {
        try await backend.read { db -> [EndpointInfo] in
            let modelID = try await self.modelID(db, model)
            guard let deployment = try await self.deploymentRow(db, modelID: modelID, env: env.value) else { throw Self.noDeployment(model, env.value) }
            return try await db.raw("""
                \(unsafeRaw: Self.endpointQuery) WHERE model_id = \(bind: modelID) AND env = \(bind: env.value) ORDER BY url
                """).all().map { try Self.endpointInfo($0, deployment: deployment) }
        }
    }

    public func removeEndpoint(model: ModelName, env: AliasName, url: String, change: ChangeContext) async throws {
        let now = clock()
        try await write { db in
            let modelID = try await self.modelID(db, model)
            let removed = try await db.raw("""
                DELETE FROM deployment_endpoints WHERE model_id = \(bind: modelID) AND env = \(bind: env.value) AND url = \(bind: url) RETURNING slot
                """).all()
            guard !removed.isEmpty else { throw VesselError.notFound("\(model) in '\(env)' has no endpoint \(url)") }
            try await self.audit(db, change, at: now, action: "deployment.endpoint.remove", target: "deployment/\(model)@\(env)", model: model,
                                 before: "endpoint \(url)")
        }
    }

    // MARK: Rows

    static let nodeQuery = """
        SELECT node AS name, slot, digest, version, state, message, last_seen, drift, drift_since, mismatch_since FROM deployment_nodes
        """
    static let endpointQuery = """
        SELECT url AS name, slot, digest, version, state, message, last_seen, drift, drift_since, mismatch_since, added_by, added_at FROM deployment_endpoints
        """

    /// What the node's slot should hold in `deployment`: its pool's version, nil while the pool is empty.
    static func desired(_ slot: NodeSlot, _ deployment: DeploymentRow) -> NodeVersion? {
        let pool: DeploymentSlot = switch slot {
        case .live: deployment.live
        case .blue: .blue
        case .green: .green
        }
        return deployment.slots[pool].map { NodeVersion(version: $0.version, digest: $0.digest) }
    }

    static func nodeRecord(_ row: any SQLRow, kind: NodeRecord.Kind, deployment: DeploymentRow) throws -> NodeRecord {
        let slotText = try row.decode(column: "slot", as: String.self)
        guard let slot = NodeSlot(rawValue: slotText) else { throw VesselError.internalError("a node row holds slot '\(slotText)'") }
        let actual = try row.decode(column: "digest", as: String?.self).map { NodeVersion(version: try row.decode(column: "version", as: Int?.self), digest: try Digest($0)) }
        let drift = try row.decode(column: "drift", as: String?.self).flatMap(DriftState.init(rawValue:))
        return NodeRecord(
            node: try row.decode(column: "name", as: String.self), kind: kind, slot: slot,
            desired: desired(slot, deployment), actual: actual,
            reportedState: try row.decode(column: "state", as: String?.self),
            drift: drift,
            since: try row.decode(column: "drift_since", as: Int64?.self).map(Timestamp.rfc3339(micros:)),
            lastSeen: try row.decode(column: "last_seen", as: Int64?.self).map(Timestamp.rfc3339(micros:)),
            message: try row.decode(column: "message", as: String?.self)
        )
    }

    static func endpointInfo(_ row: any SQLRow, deployment: DeploymentRow) throws -> EndpointInfo {
        let record = try nodeRecord(row, kind: .endpoint, deployment: deployment)
        return EndpointInfo(url: record.node, slot: record.slot, addedBy: try row.decode(column: "added_by", as: String.self),
                            addedAt: Timestamp.rfc3339(micros: try row.decode(column: "added_at", as: Int64.self)),
                            desired: record.desired, actual: record.actual, drift: record.drift, since: record.since, lastSeen: record.lastSeen, message: record.message)
    }
}
