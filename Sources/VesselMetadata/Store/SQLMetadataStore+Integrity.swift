import SQLKit
import VesselCore

/// One file of a committed version, as fsck and backup check it against the blob store.
public struct BlobReference: Sendable, Equatable {
    public var model: ModelName
    public var version: Int
    public var state: VersionState
    public var path: String
    public var digest: Digest
    public var size: UInt64
}

/// A pending draft (a push that has not committed).
public struct PendingDraft: Sendable, Equatable {
    public var model: ModelName
    public var id: String
    public var createdAt: Int64
}

/// What a metadata snapshot holds, for a backup's manifest.
public struct MetadataInventory: Sendable, Equatable {
    public var models: Int
    public var versions: Int
    public var aliases: Int
    public var auditSeq: Int64
    public var auditHash: String
}

/// Reads and writes of `vessel fsck` and `vessel backup` (docs/backup.md).
extension SQLMetadataStore {
    /// Every file of every committed version (`ready`, `quarantined`, `archived`), by model,
    /// version and path.
    public func committedBlobReferences() async throws -> [BlobReference] {
        try await backend.read { db in
            try await db.raw("""
                SELECT m.owner, m.name, v.number, v.state, f.path, f.digest, f.size
                FROM version_files f JOIN versions v ON v.id = f.version_id JOIN models m ON m.id = v.model_id
                WHERE v.state IN ('ready', 'quarantined', 'archived')
                ORDER BY m.owner, m.name, v.number, f.path
                """).all().map { row in
                BlobReference(
                    model: try ModelName(owner: try row.decode(column: "owner", as: String.self), name: try row.decode(column: "name", as: String.self)),
                    version: try row.decode(column: "number", as: Int.self),
                    state: VersionState(rawValue: try row.decode(column: "state", as: String.self)) ?? .ready,
                    path: try row.decode(column: "path", as: String.self),
                    digest: try Digest(try row.decode(column: "digest", as: String.self)),
                    size: UInt64(try row.decode(column: "size", as: Int64.self))
                )
            }
        }
    }

    /// Digests any version that is not deleted still names, pending drafts included (a draft is
    /// recorded before its blobs are uploaded, so a blob stored for a push in progress is never
    /// an orphan).
    public func referencedDigests() async throws -> Set<String> {
        try await backend.read { db in
            Set(try await db.raw("""
                SELECT DISTINCT f.digest FROM version_files f JOIN versions v ON v.id = f.version_id WHERE v.state <> 'deleted'
                """).all().map { try $0.decode(column: "digest", as: String.self) })
        }
    }

    /// Every blob the `blobs` table records, with its size: what a backup copies.
    public func recordedBlobs() async throws -> [(digest: Digest, size: UInt64)] {
        try await backend.read { db in
            try await db.raw("SELECT digest, size FROM blobs ORDER BY digest").all().map { row in
                (try Digest(try row.decode(column: "digest", as: String.self)), UInt64(try row.decode(column: "size", as: Int64.self)))
            }
        }
    }

    /// Pending drafts created before `cutoff` (microseconds).
    public func pendingDrafts(createdBefore cutoff: Int64) async throws -> [PendingDraft] {
        try await backend.read { db in
            try await db.raw("""
                SELECT m.owner, m.name, v.id, v.created_at FROM versions v JOIN models m ON m.id = v.model_id
                WHERE v.state = 'pending' AND v.created_at < \(bind: cutoff) ORDER BY v.created_at, v.id
                """).all().map { row in
                PendingDraft(
                    model: try ModelName(owner: try row.decode(column: "owner", as: String.self), name: try row.decode(column: "name", as: String.self)),
                    id: try row.decode(column: "id", as: String.self),
                    createdAt: try row.decode(column: "created_at", as: Int64.self)
                )
            }
        }
    }

    /// Counts and the audit chain head, read in one statement so they agree.
    public func inventory() async throws -> MetadataInventory {
        try await backend.read { db in
            guard let row = try await db.raw("""
                SELECT (SELECT COUNT(*) FROM models) AS models,
                  (SELECT COUNT(*) FROM versions WHERE state IN ('ready', 'quarantined', 'archived')) AS versions,
                  (SELECT COUNT(*) FROM aliases) AS aliases,
                  h.seq, h.hash FROM audit_head h WHERE h.id = 1
                """).first() else { throw VesselError.internalError("the audit chain head is missing") }
            return MetadataInventory(
                models: try row.decode(column: "models", as: Int.self), versions: try row.decode(column: "versions", as: Int.self),
                aliases: try row.decode(column: "aliases", as: Int.self),
                auditSeq: try row.decode(column: "seq", as: Int64.self), auditHash: try row.decode(column: "hash", as: String.self)
            )
        }
    }

    /// Marks a committed version `quarantined` because a blob it holds is damaged or missing:
    /// adds `damage` to its findings, with the audit entry `version.quarantine` and the event
    /// `version.quarantined`, in one transaction. Returns false (and writes nothing) when the
    /// version is already quarantined, deleted or gone.
    public func quarantineDamaged(model: ModelName, version: Int, findings damage: [Finding], change: ChangeContext) async throws -> Bool {
        let now = clock()
        return try await write { db in
            let modelID = try await self.lockModel(db, model)
            guard let row = try await db.raw("""
                SELECT id, state, digest, findings FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: version) AND state IN ('ready', 'archived')
                """).first() else { return false }
            let id = try row.decode(column: "id", as: String.self)
            let before = try row.decode(column: "state", as: String.self)
            let digest = try row.decode(column: "digest", as: String.self)
            var findings = try Self.decodeJSON([Finding].self, try row.decode(column: "findings", as: String.self))
            findings += damage
            try await db.raw("UPDATE versions SET state = 'quarantined', findings = \(bind: try Self.encodeJSON(findings)) WHERE id = \(bind: id)").run()
            try await self.audit(db, change, at: now, action: "version.quarantine", target: "version/\(model):\(version)", model: model, before: before, after: "quarantined")
            try await self.event(db, .versionQuarantined, at: now, model: model, ["model": model.description, "version": String(version), "digest": digest, "actor": change.actor])
            return true
        }
    }

    /// Registers a running backup as the lease row `backup:<id>` until `now + ttl`; renew it by
    /// calling again. A garbage-collection sweep must not delete a blob while any `backup:` lease
    /// is live (docs/decisions/0018-backup-restore-fsck.md).
    public func registerBackup(id: String, holder: String, now: Int64, ttl: Int64) async throws {
        _ = try await acquireLease("\(Self.backupLeasePrefix)\(id)", holder: holder, now: now, ttl: ttl)
    }

    /// Removes a backup's lease row.
    public func finishBackup(id: String) async throws {
        try await backend.transaction { db in
            try await db.raw("DELETE FROM leases WHERE name = \(bind: "\(Self.backupLeasePrefix)\(id)")").run()
        }
    }

    /// Backups running now (live `backup:` leases): what a sweep checks before deleting blobs.
    public func runningBackups(now: Int64) async throws -> [String] {
        try await backend.read { db in
            try await db.raw("SELECT name FROM leases WHERE name LIKE 'backup:%' AND expires_at > \(bind: now) ORDER BY name").all()
                .map { String(try $0.decode(column: "name", as: String.self).dropFirst(Self.backupLeasePrefix.count)) }
        }
    }

    public static let backupLeasePrefix = "backup:"
}
