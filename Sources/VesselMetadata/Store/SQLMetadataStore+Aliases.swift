import SQLKit
import VesselCore

extension SQLMetadataStore: AliasStore {
    public func setAlias(model: ModelName, alias: AliasName, version: Int, expectCurrent: Int?, expectAbsent: Bool, change: ChangeContext) async throws -> AliasInfo {
        let now = clock()
        try await write { db in
            let modelID = try await self.lockModel(db, model)
            let current = try await self.currentVersion(db, modelID: modelID, alias: alias)
            let target = try await self.target(db, modelID: modelID, model: model, version: version, current: current)
            switch target.state {
            case VersionState.ready.rawValue: break
            case VersionState.quarantined.rawValue:
                throw VesselError(.quarantined, "version \(model):\(version) is quarantined; an alias cannot point at it")
            case let other:
                throw VesselError(.versionNotReady, "version \(model):\(version) is \(other); only ready versions can be aliased")
            }
            let attempt = PromotionAttempt(model: model, alias: alias, version: version, expectCurrent: expectCurrent, expectAbsent: expectAbsent, mode: .set, role: .admin)
            if let failure = self.expectationFailures(attempt, current: current).first {
                throw VesselError.preconditionFailed(failure.message)
            }
            try await self.applyMove(db, model: model, alias: alias, target: target, change: change, now: now)
        }
        guard let info = try await aliases(model: model).first(where: { $0.alias == alias.value }) else {
            throw VesselError.internalError("alias '\(alias)' vanished after it was set")
        }
        return info
    }

    public func removeAlias(model: ModelName, alias: AliasName, change: ChangeContext) async throws {
        let now = clock()
        try await write { db in
            let modelID = try await self.lockModel(db, model)
            guard let current = try await self.currentVersion(db, modelID: modelID, alias: alias) else {
                throw VesselError.notFound("alias '\(alias)' of model '\(model)' does not exist")
            }
            try await self.removeAlias(db, modelID: modelID, model: model, alias: alias, current: current, change: change, now: now)
        }
    }

    public func aliases(model: ModelName) async throws -> [AliasInfo] {
        try await backend.read { db in
            let modelID = try await self.modelID(db, model)
            return try await db.raw("""
                SELECT a.name, v.number, v.digest, a.updated_at, a.updated_by FROM aliases a JOIN versions v ON v.id = a.version_id
                WHERE a.model_id = \(bind: modelID) ORDER BY a.name
                """).all().map { row in
                AliasInfo(
                    model: model,
                    alias: try row.decode(column: "name", as: String.self),
                    version: try row.decode(column: "number", as: Int.self),
                    digest: try Digest(try row.decode(column: "digest", as: String.self)),
                    updatedAt: Timestamp.rfc3339(micros: try row.decode(column: "updated_at", as: Int64.self)),
                    updatedBy: try row.decode(column: "updated_by", as: String.self)
                )
            }
        }
    }
}
