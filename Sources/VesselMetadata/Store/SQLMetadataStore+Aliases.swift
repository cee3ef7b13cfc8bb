import SQLKit
import VesselCore

extension SQLMetadataStore: AliasStore {
    public func setAlias(model: ModelName, alias: AliasName, version: Int, expectCurrent: Int?, expectAbsent: Bool, change: ChangeContext) async throws -> AliasInfo {
        let now = clock()
        try await write { db in
            let modelID = try await self.modelID(db, model)
            guard let target = try await db.raw("""
                SELECT id, state, digest FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: version) AND state <> 'deleted'
                """).first() else {
                throw VesselError.notFound("version \(model):\(version) does not exist")
            }
            switch try target.decode(column: "state", as: String.self) {
            case VersionState.ready.rawValue: break
            case VersionState.quarantined.rawValue:
                throw VesselError(.quarantined, "version \(model):\(version) is quarantined; an alias cannot point at it")
            case let other:
                throw VesselError(.versionNotReady, "version \(model):\(version) is \(other); only ready versions can be aliased")
            }
            let targetID = try target.decode(column: "id", as: String.self)
            let current = try await db.raw("""
                SELECT v.number FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.model_id = \(bind: modelID) AND a.name = \(bind: alias.value)
                """).first().map { try $0.decode(column: "number", as: Int.self) }
            if expectAbsent, let current {
                throw VesselError.preconditionFailed("alias '\(alias)' already exists (it points at version \(current)); expected it not to")
            }
            if let expected = expectCurrent, current != expected {
                let actual = current.map { "points at version \($0)" } ?? "does not exist"
                throw VesselError.preconditionFailed("alias '\(alias)' \(actual), not version \(expected) as expected")
            }
            if current == version { return }
            if current == nil {
                try await db.raw("""
                    INSERT INTO aliases (model_id, name, version_id, updated_at, updated_by)
                    VALUES (\(bind: modelID), \(bind: alias.value), \(bind: targetID), \(bind: now), \(bind: change.actor))
                    """).run()
            } else {
                try await db.raw("""
                    UPDATE aliases SET version_id = \(bind: targetID), updated_at = \(bind: now), updated_by = \(bind: change.actor)
                    WHERE model_id = \(bind: modelID) AND name = \(bind: alias.value)
                    """).run()
            }
            try await self.audit(db, change, at: now, action: "alias.set", target: "alias/\(model)@\(alias)", model: model, before: current.map(String.init), after: String(version))
            var payload = ["model": model.description, "alias": alias.value, "version": String(version), "digest": try target.decode(column: "digest", as: String.self), "actor": change.actor]
            if let current { payload["previous_version"] = String(current) }
            try await self.event(db, current == nil ? .aliasSet : .aliasMoved, at: now, model: model, payload)
        }
        guard let info = try await aliases(model: model).first(where: { $0.alias == alias.value }) else {
            throw VesselError.internalError("alias '\(alias)' vanished after it was set")
        }
        return info
    }

    public func removeAlias(model: ModelName, alias: AliasName, change: ChangeContext) async throws {
        let now = clock()
        try await write { db in
            let modelID = try await self.modelID(db, model)
            guard let current = try await db.raw("""
                SELECT v.number FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.model_id = \(bind: modelID) AND a.name = \(bind: alias.value)
                """).first().map({ try $0.decode(column: "number", as: Int.self) }) else {
                throw VesselError.notFound("alias '\(alias)' of model '\(model)' does not exist")
            }
            try await db.raw("DELETE FROM aliases WHERE model_id = \(bind: modelID) AND name = \(bind: alias.value)").run()
            try await self.audit(db, change, at: now, action: "alias.remove", target: "alias/\(model)@\(alias)", model: model, before: String(current), after: nil)
            try await self.event(db, .aliasRemoved, at: now, model: model, ["model": model.description, "alias": alias.value, "previous_version": String(current), "actor": change.actor])
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
