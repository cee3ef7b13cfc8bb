import SQLKit
import VesselCore

extension SQLMetadataStore: ModelStore {
    public func createModel(_ name: ModelName, description: String, tags: [String], change: ChangeContext) async throws -> ModelInfo {
        let now = clock()
        let id = makeID()
        let tagsJSON = try Self.encodeJSON(tags)
        try await write(conflictMessage: "model '\(name)' already exists") { db in
            try await self.insertModel(db, id: id, name: name, description: description, tagsJSON: tagsJSON, now: now, change: change)
        }
        return try await model(name)
    }

    func insertModel(_ db: any SQLDatabase, id: String, name: ModelName, description: String, tagsJSON: String, now: Int64, change: ChangeContext) async throws {
        try await requireNameFree(db, name, forDataset: false)
        try await db.raw("""
            INSERT INTO models (id, owner, name, description, tags, created_at, created_by, version_seq, updated_at)
            VALUES (\(bind: id), \(bind: name.owner), \(bind: name.name), \(bind: description), \(bind: tagsJSON), \(bind: now), \(bind: change.actor), 0, \(bind: now))
            """).run()
        try await insertModelTags(db, modelID: id, tags: try Self.decodeJSON([String].self, tagsJSON))
        try await audit(db, change, at: now, action: "model.create", target: "model/\(name)", model: name)
        try await event(db, .modelCreated, at: now, model: name, ["model": name.description, "actor": change.actor])
    }

    /// The model's internal id. - Throws: `not_found`.
    func modelID(_ db: any SQLDatabase, _ name: ModelName) async throws -> String {
        guard let row = try await db.raw("SELECT id FROM models WHERE owner = \(bind: name.owner) AND name = \(bind: name.name)").first() else {
            throw VesselError.notFound("model '\(name)' does not exist")
        }
        return try row.decode(column: "id", as: String.self)
    }

    public func model(_ name: ModelName) async throws -> ModelInfo {
        let row = try await backend.read { db in
            try await db.raw("\(unsafeRaw: Self.modelQuery) WHERE m.owner = \(bind: name.owner) AND m.name = \(bind: name.name)").first()
        }
        guard let row else { throw VesselError.notFound("model '\(name)' does not exist") }
        return try Self.modelInfo(row)
    }

    // listModels (search, sort, keyset paging) is in SQLMetadataStore+Search.swift.

    /// The condition "a scope in `scopes` covers model `m`", or nil when none can.
    static func readableClause(_ scopes: [Scope]) -> SQLQueryString? {
        var owners: [any Encodable & Sendable] = []
        var models: [any Encodable & Sendable] = []
        for scope in scopes {
            switch scope {
            case .registry: return "1 = 1"
            case .owner(let owner): owners.append(owner)
            case .model(let model): models.append(model.description)
            }
        }
        var conditions: [SQLQueryString] = []
        if !owners.isEmpty { conditions.append("m.owner IN (\(binds: owners))") }
        if !models.isEmpty { conditions.append("(m.owner || '/' || m.name) IN (\(binds: models))") }
        guard let first = conditions.first else { return nil }
        return conditions.dropFirst().reduce("(" + first) { $0 + " OR " + $1 } + ")"
    }

    static let modelQuery = """
        SELECT m.owner, m.name, m.description, m.tags, m.created_at, m.created_by, m.updated_at,
          (SELECT MAX(v.number) FROM versions v WHERE v.model_id = m.id AND v.state = 'ready') AS latest,
          (SELECT COUNT(*) FROM versions v WHERE v.model_id = m.id AND v.number IS NOT NULL AND v.state <> 'deleted') AS version_count
        FROM models m
        """

    static func modelInfo(_ row: any SQLRow) throws -> ModelInfo {
        ModelInfo(
            model: try ModelName(owner: try row.decode(column: "owner", as: String.self), name: try row.decode(column: "name", as: String.self)),
            description: try row.decode(column: "description", as: String.self),
            tags: try decodeJSON([String].self, try row.decode(column: "tags", as: String.self)),
            createdAt: Timestamp.rfc3339(micros: try row.decode(column: "created_at", as: Int64.self)),
            createdBy: try row.decode(column: "created_by", as: String.self),
            latestVersion: try row.decode(column: "latest", as: Int?.self),
            versions: try row.decode(column: "version_count", as: Int.self),
            updatedAt: Timestamp.rfc3339(micros: try row.decode(column: "updated_at", as: Int64.self))
        )
    }
}
