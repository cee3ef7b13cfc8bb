import Foundation
import SQLKit
import VesselCore

extension SQLMetadataStore {
    public func protect(_ request: ProtectRequest, change: ChangeContext) async throws -> ProtectionInfo {
        let scope = try Scope(request.scope)
        let alias = try AliasName(request.alias)
        let gates = try request.gates.map { try Gate($0).description }
        let now = clock()
        let gatesJSON = try Self.encodeJSON(gates)
        try await write { db in
            let before = try await db.raw("SELECT role, require_approval, gates FROM protections WHERE scope = \(bind: scope.description) AND alias = \(bind: alias.value)").first()
            let beforeText = try before.map { "\(try $0.decode(column: "role", as: String.self)) approval=\(try $0.decode(column: "require_approval", as: Int.self)) gates=\(try $0.decode(column: "gates", as: String.self))" }
            try await db.raw("DELETE FROM protections WHERE scope = \(bind: scope.description) AND alias = \(bind: alias.value)").run()
            try await db.raw("""
                INSERT INTO protections (scope, alias, role, require_approval, gates, updated_at, updated_by)
                VALUES (\(bind: scope.description), \(bind: alias.value), \(bind: request.role.rawValue), \(bind: request.requireApproval ? 1 : 0),
                  \(bind: gatesJSON), \(bind: now), \(bind: change.actor))
                """).run()
            try await self.audit(db, change, at: now, action: "protection.set", target: "protection/\(scope)@\(alias)", model: Self.model(of: scope),
                                 before: beforeText, after: "\(request.role.rawValue) approval=\(request.requireApproval ? 1 : 0) gates=\(gatesJSON)")
        }
        return ProtectionInfo(scope: scope.description, alias: alias.value, role: request.role, requireApproval: request.requireApproval, gates: gates, updatedAt: Timestamp.rfc3339(micros: now), updatedBy: change.actor)
    }

    public func unprotect(scope: Scope, alias: AliasName, change: ChangeContext) async throws {
        let now = clock()
        try await write { db in
            guard try await db.raw("SELECT alias FROM protections WHERE scope = \(bind: scope.description) AND alias = \(bind: alias.value)").first() != nil else {
                throw VesselError.notFound("alias '\(alias)' is not protected on \(scope)")
            }
            try await db.raw("DELETE FROM protections WHERE scope = \(bind: scope.description) AND alias = \(bind: alias.value)").run()
            try await self.audit(db, change, at: now, action: "protection.remove", target: "protection/\(scope)@\(alias)", model: Self.model(of: scope))
        }
    }

    public func protections() async throws -> [ProtectionInfo] {
        try await backend.read { db in
            try await db.raw("SELECT * FROM protections ORDER BY scope, alias").all().map(Self.protection)
        }
    }

    /// The most specific protection of `alias` covering `model`.
    func protection(_ db: any SQLDatabase, model: ModelName, alias: AliasName) async throws -> ProtectionInfo? {
        let scopes = Scope.covering(model).map(\.description)
        let found = try await db.raw("SELECT * FROM protections WHERE alias = \(bind: alias.value) AND scope IN (\(binds: scopes))").all().map(Self.protection)
        for scope in scopes { if let hit = found.first(where: { $0.scope == scope }) { return hit } }
        return nil
    }

    static func protection(_ row: any SQLRow) throws -> ProtectionInfo {
        ProtectionInfo(
            scope: try row.decode(column: "scope", as: String.self),
            alias: try row.decode(column: "alias", as: String.self),
            role: try Role(parsing: try row.decode(column: "role", as: String.self)),
            requireApproval: try row.decode(column: "require_approval", as: Int.self) != 0,
            gates: try decodeJSON([String].self, try row.decode(column: "gates", as: String.self)),
            updatedAt: Timestamp.rfc3339(micros: try row.decode(column: "updated_at", as: Int64.self)),
            updatedBy: try row.decode(column: "updated_by", as: String.self)
        )
    }

    public func reportCheck(model: ModelName, version: Int, _ report: CheckReportRequest, change: ChangeContext) async throws -> CheckInfo {
        guard ["passed", "failed"].contains(report.status) else { throw VesselError.invalidArgument("status must be passed or failed") }
        // A check name, not a gate: `eval@ci-bot` would parse as one naming its reporters.
        guard try Gate("check:\(report.name)") == .check(report.name) else {
            throw VesselError.invalidArgument("check name '\(report.name)' must be letters, digits, '.', '_', '-' or '/'")
        }
        for (key, value) in report.metrics {
            _ = try Gate("metric:\(key)>=0")
            guard value.isFinite else { throw VesselError.invalidArgument("metric \(key) must be a finite number") }
        }
        let now = clock()
        let id = makeID()
        let metricsJSON = try Self.encodeJSON(report.metrics)
        // Keyed by the manifest digest: a version with the same blobs under other names does not
        // share this report (decision 0013).
        let (digest, manifestDigest) = try await write { db -> (String, String) in
            let modelID = try await self.modelID(db, model)
            guard let row = try await db.raw("SELECT digest, manifest_digest FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: version) AND state <> 'deleted'").first() else {
                throw VesselError.notFound("version \(model):\(version) does not exist")
            }
            let digest = try row.decode(column: "digest", as: String.self)
            let manifestDigest = try row.decode(column: "manifest_digest", as: String.self)
            try await db.raw("""
                INSERT INTO checks (id, digest, manifest_digest, model_id, name, status, metrics, url, reported_by, reported_at, seq)
                VALUES (\(bind: id), \(bind: digest), \(bind: manifestDigest), \(bind: modelID), \(bind: report.name), \(bind: report.status), \(bind: metricsJSON),
                  \(bind: report.url), \(bind: change.actor), \(bind: now), \(bind: now))
                """).run()
            try await self.audit(db, change, at: now, action: "check.report", target: "version/\(model):\(version)", model: model, after: "\(report.name)=\(report.status) \(metricsJSON)")
            try await self.event(db, .checkReported, at: now, model: model, ["model": model.description, "version": String(version), "digest": digest, "manifest_digest": manifestDigest, "check": report.name, "status": report.status, "actor": change.actor])
            return (digest, manifestDigest)
        }
        return CheckInfo(model: model, version: version, digest: try Digest(digest), manifestDigest: try Digest(manifestDigest), name: report.name, status: report.status, metrics: report.metrics, url: report.url, reportedBy: change.actor, reportedAt: Timestamp.rfc3339(micros: now))
    }
}
