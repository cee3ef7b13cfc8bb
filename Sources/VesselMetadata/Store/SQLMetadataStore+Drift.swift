import SQLKit
import VesselCore

/// The drift job's reads and writes (`DriftStore`): endpoint polls and verdicts. A round with
/// nothing to change only reads; one with changes re-reads and judges again inside its
/// transaction, so a verdict and its event are written together, once.
extension SQLMetadataStore: DriftStore {
    public func endpointTargets() async throws -> [EndpointTarget] {
        try await backend.read { db in
            try await db.raw("""
                SELECT m.owner, m.name, e.env, e.url FROM deployment_endpoints e JOIN models m ON m.id = e.model_id ORDER BY m.owner, m.name, e.env, e.url
                """).all().map { row in
                EndpointTarget(model: try ModelName(owner: try row.decode(column: "owner", as: String.self), name: try row.decode(column: "name", as: String.self)),
                               env: try row.decode(column: "env", as: String.self), url: try row.decode(column: "url", as: String.self))
            }
        }
    }

    public func recordEndpointPolls(_ polls: [(EndpointTarget, EndpointPoll)], now: Int64) async throws {
        guard !polls.isEmpty else { return }
        try await write { db in
            for (target, poll) in polls {
                let key: SQLQueryString = """
                    model_id = (SELECT id FROM models WHERE owner = \(bind: target.model.owner) AND name = \(bind: target.model.name))
                      AND env = \(bind: target.env) AND url = \(bind: target.url)
                    """
                switch poll {
                case .serving(let digest, let version, let state):
                    try await db.raw("""
                        UPDATE deployment_endpoints SET digest = \(bind: digest.description), version = \(bind: version), state = \(bind: state), message = NULL,
                          last_seen = \(bind: now), last_polled = \(bind: now), reachable = 1 WHERE \(key)
                        """).run()
                case .unreachable(let message):
                    try await db.raw("""
                        UPDATE deployment_endpoints SET message = \(bind: String(message.prefix(Limits.reason))), last_polled = \(bind: now), reachable = 0 WHERE \(key)
                        """).run()
                }
            }
        }
    }

    public func judgeDrift(now: Int64, policy: DriftPolicy) async throws -> DriftRound {
        let first = try await backend.read { db in try await self.driftChanges(db, now: now, policy: policy) }
        guard !first.changes.isEmpty else { return first.round }
        return try await write { db -> DriftRound in
            let (changes, round) = try await self.driftChanges(db, now: now, policy: policy)
            for change in changes {
                let table = change.kind == .agent ? "deployment_nodes" : "deployment_endpoints"
                let column = change.kind == .agent ? "node" : "url"
                let since: SQLQueryString = change.verdict.drift != change.previous ? ", drift_since = \(bind: now)" : ""
                try await db.raw("""
                    UPDATE \(unsafeRaw: table) SET drift = \(bind: change.verdict.drift?.rawValue), mismatch_since = \(bind: change.verdict.mismatchSince)\(since)
                    WHERE model_id = \(bind: change.modelID) AND env = \(bind: change.env) AND \(unsafeRaw: column) = \(bind: change.record.node)
                    """).run()
                guard let drift = change.verdict.drift, drift != change.previous, drift.isDrift || change.previous != nil else { continue }
                try await self.event(db, drift.isDrift ? .deploymentDrift : .deploymentInSync, at: now, model: change.model, Self.driftPayload(change, drift: drift))
            }
            return round
        }
    }

    struct DriftChange: Sendable {
        var modelID: String
        var model: ModelName
        var env: String
        var kind: NodeRecord.Kind
        var record: NodeRecord
        var previous: DriftState?
        var verdict: DriftJudge.Verdict
    }

    /// Every node's verdict that differs from what is stored, and the round's counts.
    func driftChanges(_ db: any SQLDatabase, now: Int64, policy: DriftPolicy) async throws -> (changes: [DriftChange], round: DriftRound) {
        let deployments = try await db.raw("""
            \(unsafeRaw: Self.deploymentQuery)
            WHERE EXISTS (SELECT 1 FROM deployment_nodes n WHERE n.model_id = d.model_id AND n.env = d.env)
               OR EXISTS (SELECT 1 FROM deployment_endpoints e WHERE e.model_id = d.model_id AND e.env = d.env)
            """).all().map(Self.deploymentRow)
        var byKey: [String: DeploymentRow] = [:]
        var drifted: [String: Int] = [:]
        for deployment in deployments {
            byKey[deployment.modelID + "\n" + deployment.env] = deployment
            drifted["\(deployment.model) \(deployment.env)"] = 0
        }
        var changes: [DriftChange] = []
        var transitions = 0
        for kind in [NodeRecord.Kind.agent, .endpoint] {
            let query = kind == .agent ? "SELECT model_id, env, \(Self.nodeQuery.dropFirst(7))" : "SELECT model_id, env, reachable, \(Self.endpointQuery.dropFirst(7))"
            for row in try await db.raw(SQLQueryString(query)).all() {
                let modelID = try row.decode(column: "model_id", as: String.self), env = try row.decode(column: "env", as: String.self)
                guard let deployment = byKey[modelID + "\n" + env] else { continue }
                let record = try Self.nodeRecord(row, kind: kind, deployment: deployment)
                let input = DriftJudge.Input(
                    kind: kind, drift: record.drift, mismatchSince: try row.decode(column: "mismatch_since", as: Int64?.self),
                    matches: record.actual?.digest == record.desired?.digest,
                    lastSeen: try row.decode(column: "last_seen", as: Int64?.self),
                    reachable: kind == .endpoint ? try row.decode(column: "reachable", as: Int?.self).map { $0 != 0 } : nil)
                let verdict = DriftJudge.judge(input, now: now, policy: policy)
                if verdict.drift == .drifted { drifted["\(deployment.model) \(env)", default: 0] += 1 }
                guard verdict != DriftJudge.Verdict(drift: input.drift, mismatchSince: input.mismatchSince) else { continue }
                if verdict.drift != input.drift { transitions += 1 }
                changes.append(DriftChange(modelID: modelID, model: deployment.model, env: env, kind: kind, record: record, previous: input.drift, verdict: verdict))
            }
        }
        return (changes, DriftRound(transitions: transitions, drifted: drifted))
    }

    /// `deployment.drift` / `deployment.in_sync`: which node, which way, and what it serves
    /// against what it should (`""` for nothing).
    static func driftPayload(_ change: DriftChange, drift: DriftState) -> [String: String] {
        var payload = [
            "model": change.model.description, "env": change.env, "node": change.record.node, "kind": change.record.kind.rawValue,
            "slot": change.record.slot.rawValue, "drift": drift.rawValue, "previous": change.previous?.rawValue ?? "",
            "desired": change.record.desired?.digest.description ?? "", "actual": change.record.actual?.digest.description ?? "",
            "actor": "system",
        ]
        if let version = change.record.desired?.version { payload["desired_version"] = String(version) }
        if let version = change.record.actual?.version { payload["actual_version"] = String(version) }
        if let state = change.record.reportedState { payload["reported_state"] = state }
        if let message = change.record.message { payload["message"] = String(message.prefix(512)) }
        return payload
    }
}
