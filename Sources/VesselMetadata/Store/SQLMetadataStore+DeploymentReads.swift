import SQLKit
import VesselCore

/// Reading deployments: one, a page, its history, and which versions served when.
extension SQLMetadataStore {
    public func deployment(model: ModelName, env: AliasName) async throws -> DeploymentInfo {
        let row = try await backend.read { db in
            try await db.raw("""
                \(unsafeRaw: Self.deploymentQuery) WHERE m.owner = \(bind: model.owner) AND m.name = \(bind: model.name) AND d.env = \(bind: env.value)
                """).first().map(Self.deploymentRow)
        }
        guard let row else { throw Self.noDeployment(model, env.value) }
        return row.info
    }

    public func listDeployments(readable: [Scope], model: ModelName?, env: AliasName?, limit: Int, cursor: String?) async throws -> Page<DeploymentInfo> {
        let limit = PageCursor.clamp(limit)
        let cursors = try await pageCursor()
        let list = "deployments \(model?.description ?? "*") \(env?.value ?? "*")"
        let after = try cursor.map { cursor throws(VesselError) in try cursors.decode(cursor, list: list) }
        guard let readable = Self.readableClause(readable) else { return Page(items: [], nextCursor: nil) }
        var conditions: [SQLQueryString] = [readable]
        if let model { conditions.append("m.owner = \(bind: model.owner) AND m.name = \(bind: model.name)") }
        if let env { conditions.append("d.env = \(bind: env.value)") }
        if let after {
            let parts = after.split(separator: "\u{1}", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { throw VesselError.invalidArgument("the paging cursor is not one this server issued") }
            conditions.append("(m.owner > \(bind: parts[0]) OR (m.owner = \(bind: parts[0]) AND (m.name > \(bind: parts[1]) OR (m.name = \(bind: parts[1]) AND d.env > \(bind: parts[2])))))")
        }
        let condition = conditions.dropFirst().reduce(conditions[0]) { $0 + " AND " + $1 }
        let rows = try await backend.read { db in
            try await db.raw("\(unsafeRaw: Self.deploymentQuery) WHERE \(condition) ORDER BY m.owner, m.name, d.env LIMIT \(bind: limit + 1)").all()
        }
        let items = try rows.prefix(limit).map { try Self.deploymentRow($0).info }
        let next = rows.count > limit ? items.last.map { cursors.encode([$0.model.owner, $0.model.name, $0.env].joined(separator: "\u{1}"), list: list) } : nil
        return Page(items: items, nextCursor: next)
    }

    static let historyQuery = """
        SELECT h.revision, h.action, h.at, h.ended_at, h.actor, h.reason, h.automatic, h.status, h.live, h.candidate_weight, h.step,
          b.number AS blue_number, b.digest AS blue_digest, g.number AS green_number, g.digest AS green_digest
        FROM deployment_history h LEFT JOIN versions b ON b.id = h.blue_version_id LEFT JOIN versions g ON g.id = h.green_version_id
        """

    public func deploymentHistory(model: ModelName, env: AliasName, limit: Int, cursor: String?) async throws -> Page<DeploymentHistoryEntry> {
        let limit = PageCursor.clamp(limit)
        let cursors = try await pageCursor()
        let list = "deployment history \(model) \(env)"
        let after = try cursor.map { cursor throws(VesselError) -> Int in
            guard let revision = Int(try cursors.decode(cursor, list: list)) else { throw .invalidArgument("the paging cursor is not one this server issued") }
            return revision
        } ?? 0
        let entries = try await backend.read { db -> [DeploymentHistoryEntry] in
            let modelID = try await self.modelID(db, model)
            guard try await db.raw("SELECT revision FROM deployments WHERE model_id = \(bind: modelID) AND env = \(bind: env.value)").first() != nil else {
                throw Self.noDeployment(model, env.value)
            }
            return try await db.raw("""
                \(unsafeRaw: Self.historyQuery) WHERE h.model_id = \(bind: modelID) AND h.env = \(bind: env.value) AND h.revision > \(bind: after)
                ORDER BY h.revision LIMIT \(bind: limit + 1)
                """).all().map { try Self.historyEntry($0, model: model, env: env.value) }
        }
        let items = Array(entries.prefix(limit))
        let next = entries.count > limit ? items.last.map { cursors.encode(String($0.revision), list: list) } : nil
        return Page(items: items, nextCursor: next)
    }

    static func historyEntry(_ row: any SQLRow, model: ModelName, env: String) throws -> DeploymentHistoryEntry {
        func held(_ prefix: String) throws -> SlotVersion? {
            guard let number = try row.decode(column: "\(prefix)_number", as: Int?.self),
                  let digest = try row.decode(column: "\(prefix)_digest", as: String?.self) else { return nil }
            return SlotVersion(version: number, digest: try Digest(digest))
        }
        let status = try row.decode(column: "status", as: String.self), live = try row.decode(column: "live", as: String.self)
        guard let status = DeploymentStatus(rawValue: status), let live = DeploymentSlot(rawValue: live) else {
            throw VesselError.internalError("a deployment history row holds status '\(status)' and live '\(live)'")
        }
        return DeploymentHistoryEntry(
            model: model, env: env,
            revision: try row.decode(column: "revision", as: Int.self),
            action: try row.decode(column: "action", as: String.self),
            at: Timestamp.rfc3339(micros: try row.decode(column: "at", as: Int64.self)),
            until: try row.decode(column: "ended_at", as: Int64?.self).map(Timestamp.rfc3339(micros:)),
            actor: try row.decode(column: "actor", as: String.self),
            reason: try row.decode(column: "reason", as: String?.self),
            automatic: try row.decode(column: "automatic", as: Int.self) != 0,
            status: status, live: live,
            slots: DeploymentSlots(blue: try held("blue"), green: try held("green")),
            candidateWeight: try row.decode(column: "candidate_weight", as: Int.self),
            step: try row.decode(column: "step", as: Int.self)
        )
    }

    public func servingIntervals(model: ModelName, env: AliasName) async throws -> [ServingInterval] {
        let rows = try await backend.read { db -> [(entry: DeploymentHistoryEntry, at: Int64)] in
            let modelID = try await self.modelID(db, model)
            return try await db.raw("""
                \(unsafeRaw: Self.historyQuery) WHERE h.model_id = \(bind: modelID) AND h.env = \(bind: env.value) ORDER BY h.at, h.revision
                """).all().map { row in
                (try Self.historyEntry(row, model: model, env: env.value), try row.decode(column: "at", as: Int64.self))
            }
        }
        // A version serves while a route gives it weight; consecutive changes that keep it
        // serving extend one interval.
        var open: [Int: (version: Int, digest: Digest, from: Int64)] = [:]
        var closed: [(ServingInterval, Int64)] = []
        for row in rows {
            let serving = Dictionary(row.entry.routes.filter { $0.weight > 0 }.map { ($0.version, ($0.version, $0.digest)) }) { first, _ in first }
            for (key, value) in open where serving[key] == nil {
                closed.append((ServingInterval(version: value.version, digest: value.digest, from: Timestamp.rfc3339(micros: value.from), until: Timestamp.rfc3339(micros: row.at)), value.from))
                open[key] = nil
            }
            for (key, value) in serving where open[key] == nil { open[key] = (value.0, value.1, row.at) }
        }
        for value in open.values {
            closed.append((ServingInterval(version: value.version, digest: value.digest, from: Timestamp.rfc3339(micros: value.from), until: nil), value.from))
        }
        return closed.sorted { ($0.1, $0.0.version) < ($1.1, $1.0.version) }.map(\.0)
    }
}
