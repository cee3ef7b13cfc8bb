import SQLKit
import VesselCore

/// Metadata that may change after creation (issue 27): a model's description and tags, a
/// version's description. Each change writes its audit entry (`model.update`,
/// `version.update`) and event (`model.updated`, `version.updated`) in its transaction and
/// moves the model's `updated_at`; a change that changes nothing writes nothing.
extension SQLMetadataStore {
    public func updateModel(_ model: ModelName, update: UpdateModelRequest, change: ChangeContext) async throws -> ModelInfo {
        try update.checkLimits()
        let now = clock()
        try await write { db in
            guard let row = try await db.raw("SELECT id, description, tags FROM models WHERE owner = \(bind: model.owner) AND name = \(bind: model.name)").first() else {
                throw VesselError.notFound("model '\(model)' does not exist")
            }
            let id = try row.decode(column: "id", as: String.self)
            let before = ModelMetadata(description: try row.decode(column: "description", as: String.self),
                                       tags: try Self.decodeJSON([String].self, try row.decode(column: "tags", as: String.self)))
            let removing = Set(update.removeTags ?? [])
            var after = ModelMetadata(description: update.description ?? before.description, tags: [])
            // Removed first, then added; each tag once, in the order first seen.
            for tag in before.tags.filter({ !removing.contains($0) }) + (update.addTags ?? []) where !after.tags.contains(tag) { after.tags.append(tag) }
            guard after.tags.count <= Limits.tagsPerModel else {
                throw VesselError.invalidArgument("a model may carry at most \(Limits.tagsPerModel) tags; this update leaves \(after.tags.count)")
            }
            guard after != before else { return }
            try await db.raw("""
                UPDATE models SET description = \(bind: after.description), tags = \(bind: try Self.encodeJSON(after.tags)), updated_at = \(bind: now)
                WHERE id = \(bind: id)
                """).run()
            let added = Set(after.tags).subtracting(before.tags)
            let removed = Set(before.tags).subtracting(after.tags)
            if !removed.isEmpty {
                try await db.raw("DELETE FROM model_tags WHERE model_id = \(bind: id) AND tag IN (\(binds: removed.sorted()))").run()
            }
            for tag in added.sorted() { try await db.raw("INSERT INTO model_tags (tag, model_id) VALUES (\(bind: tag), \(bind: id))").run() }
            try await self.audit(db, change, at: now, action: "model.update", target: "model/\(model)", model: model,
                                 before: try Self.encodeJSON(before), after: try Self.encodeJSON(after))
            var payload = ["model": model.description, "actor": change.actor]
            if after.description != before.description { payload["description"] = "changed" }
            if !added.isEmpty { payload["added_tags"] = added.sorted().joined(separator: ",") }
            if !removed.isEmpty { payload["removed_tags"] = removed.sorted().joined(separator: ",") }
            try await self.event(db, .modelUpdated, at: now, model: model, payload)
        }
        return try await self.model(model)
    }

    public func updateVersion(model: ModelName, version: Int, description: String, change: ChangeContext) async throws -> VersionInfo {
        try Limits.check(description, field: "description", max: Limits.description)
        let now = clock()
        try await write { db in
            let modelID = try await self.modelID(db, model)
            guard let row = try await db.raw("""
                SELECT id, description, digest FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: version) AND state NOT IN ('deleted', 'pending')
                """).first() else {
                throw VesselError.notFound("version \(model):\(version) does not exist")
            }
            let before = try row.decode(column: "description", as: String.self)
            guard before != description else { return }
            let id = try row.decode(column: "id", as: String.self)
            try await db.raw("UPDATE versions SET description = \(bind: description) WHERE id = \(bind: id)").run()
            try await db.raw("UPDATE models SET updated_at = \(bind: now) WHERE id = \(bind: modelID)").run()
            try await self.audit(db, change, at: now, action: "version.update", target: "version/\(model):\(version)", model: model, before: before, after: description)
            let digest = try row.decode(column: "digest", as: String.self)
            try await self.event(db, .versionUpdated, at: now, model: model,
                                 ["model": model.description, "version": String(version), "digest": digest, "actor": change.actor])
        }
        return try await resolve(Reference(model: model, selector: .version(version)))
    }

    /// Inserts `tags` of a new model into `model_tags`, each once.
    func insertModelTags(_ db: any SQLDatabase, modelID: String, tags: [String]) async throws {
        for tag in Set(tags).sorted() { try await db.raw("INSERT INTO model_tags (tag, model_id) VALUES (\(bind: tag), \(bind: modelID))").run() }
    }
}

/// What `model.update` records before and after, as JSON.
struct ModelMetadata: Codable, Equatable {
    var description: String
    var tags: [String]
}
