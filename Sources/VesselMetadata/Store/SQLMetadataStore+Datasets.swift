import struct Crypto.SHA256
import Foundation
import SQLKit
import VesselCore

extension SQLMetadataStore {
    public func addDatasetRevision(_ dataset: ModelName, uri: String, digest: Digest?, size: Int64?, from: [DatasetReference], description: String,
                                   change: ChangeContext) async throws -> DatasetRevisionInfo {
        let now = clock()
        let newDatasetID = makeID()
        let revisionID = makeID()
        let number = try await write(conflictMessage: "dataset '\(dataset)' already exists") { db -> Int in
            try await self.requireNameFree(db, dataset, forDataset: true)
            let datasetID: String
            if let row = try await db.raw("SELECT id FROM datasets WHERE owner = \(bind: dataset.owner) AND name = \(bind: dataset.name)").first() {
                datasetID = try row.decode(column: "id", as: String.self)
            } else {
                try await db.raw("""
                    INSERT INTO datasets (id, owner, name, created_at, created_by, revision_seq)
                    VALUES (\(bind: newDatasetID), \(bind: dataset.owner), \(bind: dataset.name), \(bind: now), \(bind: change.actor), 0)
                    """).run()
                datasetID = newDatasetID
            }
            var sources: [String] = []
            for source in from { sources.append(try await self.datasetRevisionID(db, source)) }
            guard let seq = try await db.raw("UPDATE datasets SET revision_seq = revision_seq + 1 WHERE id = \(bind: datasetID) RETURNING revision_seq").first() else {
                throw VesselError.internalError("the dataset row vanished")
            }
            let number = try seq.decode(column: "revision_seq", as: Int.self)
            try await db.raw("""
                INSERT INTO dataset_revisions (id, dataset_id, number, uri, digest, size, description, created_at, created_by)
                VALUES (\(bind: revisionID), \(bind: datasetID), \(bind: number), \(bind: uri), \(bind: digest?.description), \(bind: size),
                  \(bind: description), \(bind: now), \(bind: change.actor))
                """).run()
            for source in Set(sources) {
                try await db.raw("INSERT INTO dataset_sources (revision_id, source_id) VALUES (\(bind: revisionID), \(bind: source))").run()
            }
            let reference = DatasetReference(dataset: dataset, revision: number)
            try await self.audit(db, change, at: now, action: "dataset.add", target: "dataset/\(reference)", model: dataset,
                                 after: ([uri] + (digest.map { [$0.description] } ?? [])).joined(separator: " "))
            var payload = ["dataset": dataset.description, "revision": String(number), "uri": uri, "actor": change.actor]
            if let digest { payload["digest"] = digest.description }
            if !from.isEmpty { payload["from"] = from.map(\.description).joined(separator: ",") }
            try await self.event(db, .datasetAdded, at: now, model: dataset, payload)
            return number
        }
        return try await datasetRevision(DatasetReference(dataset: dataset, revision: number))
    }

    /// Refuses a name the other kind holds: models and datasets share one namespace.
    ///
    /// Each table's UNIQUE constraint guards its own kind only. On PostgreSQL (read committed)
    /// a model and a dataset of one name inserted at once would each find the other table empty
    /// and both commit; so the check first takes a transaction-scoped advisory lock on the name,
    /// and the second writer, let through once the first commits, sees its row and is refused.
    /// SQLite runs one writer at a time already.
    func requireNameFree(_ db: any SQLDatabase, _ name: ModelName, forDataset: Bool) async throws {
        if backend.dialectName == "postgresql" {
            try await db.raw("SELECT pg_advisory_xact_lock(\(bind: Self.nameLockKey(name)))").run()
        }
        let table = forDataset ? "models" : "datasets"
        if try await db.raw("SELECT id FROM \(unsafeRaw: table) WHERE owner = \(bind: name.owner) AND name = \(bind: name.name)").first() != nil {
            throw VesselError.alreadyExists(forDataset
                ? "'\(name)' is a model; a dataset cannot take its name (models and datasets share one namespace)"
                : "'\(name)' is a dataset; a model cannot take its name (models and datasets share one namespace)")
        }
    }

    /// The advisory lock key of a name in the shared namespace: the first 8 bytes of
    /// SHA-256("vessel-name owner/name"), as a signed 64-bit integer.
    static func nameLockKey(_ name: ModelName) -> Int64 {
        let digest = SHA256.hash(data: Data("vessel-name \(name)".utf8))
        return digest.prefix(8).reduce(Int64(0)) { ($0 << 8) | Int64($1) }
    }

    /// The internal id of a dataset revision. - Throws: `not_found` naming it.
    func datasetRevisionID(_ db: any SQLDatabase, _ reference: DatasetReference) async throws -> String {
        guard let row = try await db.raw("""
            SELECT r.id FROM dataset_revisions r JOIN datasets d ON d.id = r.dataset_id
            WHERE d.owner = \(bind: reference.dataset.owner) AND d.name = \(bind: reference.dataset.name) AND r.number = \(bind: reference.revision)
            """).first() else {
            throw VesselError.notFound("dataset revision \(reference) does not exist")
        }
        return try row.decode(column: "id", as: String.self)
    }

    public func datasetRevision(_ reference: DatasetReference) async throws -> DatasetRevisionInfo {
        try await backend.read { db in
            guard let row = try await db.raw("""
                \(unsafeRaw: Self.revisionQuery) WHERE d.owner = \(bind: reference.dataset.owner) AND d.name = \(bind: reference.dataset.name)
                  AND r.number = \(bind: reference.revision)
                """).first() else {
                throw VesselError.notFound("dataset revision \(reference) does not exist")
            }
            return try await self.revisionInfos(db, [row])[0]
        }
    }

    public func datasetRevisions(_ dataset: ModelName) async throws -> [DatasetRevisionInfo] {
        try await backend.read { db in
            guard try await db.raw("SELECT id FROM datasets WHERE owner = \(bind: dataset.owner) AND name = \(bind: dataset.name)").first() != nil else {
                throw VesselError.notFound("dataset '\(dataset)' does not exist")
            }
            let rows = try await db.raw("""
                \(unsafeRaw: Self.revisionQuery) WHERE d.owner = \(bind: dataset.owner) AND d.name = \(bind: dataset.name) ORDER BY r.number DESC
                """).all()
            return try await self.revisionInfos(db, rows)
        }
    }

    public func latestDatasetRevisions(readable: [Scope]) async throws -> [DatasetRevisionInfo] {
        guard let clause = Self.readableClause(readable) else { return [] }
        return try await backend.read { db in
            let rows = try await db.raw("""
                \(unsafeRaw: Self.revisionQuery) JOIN datasets m ON m.id = d.id WHERE r.number = d.revision_seq AND \(clause) ORDER BY d.owner, d.name
                """).all()
            return try await self.revisionInfos(db, rows)
        }
    }

    static let revisionQuery = """
        SELECT r.id, d.owner, d.name, r.number, r.uri, r.digest, r.size, r.description, r.created_at, r.created_by
        FROM dataset_revisions r JOIN datasets d ON d.id = r.dataset_id
        """

    /// The rows as revisions, with their sources (one query for all of them).
    func revisionInfos(_ db: any SQLDatabase, _ rows: [any SQLRow]) async throws -> [DatasetRevisionInfo] {
        let ids = try rows.map { try $0.decode(column: "id", as: String.self) }
        var sources: [String: [String]] = [:]
        for chunk in ids.batches(of: 500) {
            let found = try await db.raw("""
                SELECT s.revision_id, d.owner, d.name, r.number FROM dataset_sources s JOIN dataset_revisions r ON r.id = s.source_id
                JOIN datasets d ON d.id = r.dataset_id WHERE s.revision_id IN (\(binds: chunk)) ORDER BY d.owner, d.name, r.number
                """).all()
            for row in found {
                let text = "\(try row.decode(column: "owner", as: String.self))/\(try row.decode(column: "name", as: String.self)):\(try row.decode(column: "number", as: Int.self))"
                sources[try row.decode(column: "revision_id", as: String.self), default: []].append(text)
            }
        }
        return try rows.map { row in
            DatasetRevisionInfo(
                dataset: try ModelName(owner: try row.decode(column: "owner", as: String.self), name: try row.decode(column: "name", as: String.self)),
                revision: try row.decode(column: "number", as: Int.self),
                uri: try row.decode(column: "uri", as: String.self),
                digest: try row.decode(column: "digest", as: String?.self).map { try Digest($0) },
                size: try row.decode(column: "size", as: Int64?.self),
                from: sources[try row.decode(column: "id", as: String.self)] ?? [],
                description: try row.decode(column: "description", as: String.self),
                createdAt: Timestamp.rfc3339(micros: try row.decode(column: "created_at", as: Int64.self)),
                createdBy: try row.decode(column: "created_by", as: String.self))
        }
    }
}
