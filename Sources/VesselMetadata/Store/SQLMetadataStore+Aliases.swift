import SQLKit
import VesselCore

extension SQLMetadataStore: AliasStore {
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
