/// `POST /api/v1/admin/fsck`: what to check beyond presence and size.
public struct FsckRequest: Codable, Sendable, Equatable {
    /// Re-hash every stored blob (reads every byte).
    public var rehash: Bool
    /// Blobs hashed at once; nil: one per core.
    public var jobs: Int?
    /// Mark versions holding a damaged or missing blob `quarantined` (with an audit entry).
    public var quarantineDamaged: Bool

    public init(rehash: Bool = false, jobs: Int? = nil, quarantineDamaged: Bool = false) {
        self.rehash = rehash
        self.jobs = jobs
        self.quarantineDamaged = quarantineDamaged
    }

    enum CodingKeys: String, CodingKey {
        case rehash, jobs
        case quarantineDamaged = "quarantine_damaged"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rehash = try c.decodeIfPresent(Bool.self, forKey: .rehash) ?? false
        jobs = try c.decodeIfPresent(Int.self, forKey: .jobs)
        quarantineDamaged = try c.decodeIfPresent(Bool.self, forKey: .quarantineDamaged) ?? false
    }
}

/// One thing wrong with a version's file: its blob is `missing`, has the wrong size
/// (`size_mismatch`), does not hash to its digest (`digest_mismatch`) or cannot be read
/// (`unreadable`).
public struct FsckFinding: Codable, Sendable, Equatable {
    public var model: String
    public var version: Int
    public var path: String
    public var digest: String
    public var problem: String
    public var detail: String
    /// The version's state after this run (`quarantined` once `--quarantine-damaged` marked it).
    public var state: String

    public init(model: String, version: Int, path: String, digest: String, problem: String, detail: String, state: String) {
        self.model = model
        self.version = version
        self.path = path
        self.digest = digest
        self.problem = problem
        self.detail = detail
        self.state = state
    }
}

/// A stored blob no version references (garbage once retention sweeps it).
public struct FsckOrphan: Codable, Sendable, Equatable {
    public var digest: String
    public var size: UInt64
    /// With `rehash`: `digest_mismatch` or `unreadable` when the orphan is damaged too; else null.
    public var problem: String?
    public init(digest: String, size: UInt64, problem: String? = nil) {
        self.digest = digest
        self.size = size
        self.problem = problem
    }
}

/// A pending draft older than the upload-session lifetime (a push that never committed).
public struct FsckExpiredDraft: Codable, Sendable, Equatable {
    public var model: String
    public var draftID: String
    public var createdAt: String
    public init(model: String, draftID: String, createdAt: String) {
        self.model = model
        self.draftID = draftID
        self.createdAt = createdAt
    }
    enum CodingKeys: String, CodingKey {
        case model
        case draftID = "draft_id"
        case createdAt = "created_at"
    }
}

/// An upload session past its expiry (the `upload-expiry` job removes it).
public struct FsckExpiredSession: Codable, Sendable, Equatable {
    public var id: String
    public var model: String
    public var digest: String
    public var expiresAt: String
    public init(id: String, model: String, digest: String, expiresAt: String) {
        self.id = id
        self.model = model
        self.digest = digest
        self.expiresAt = expiresAt
    }
    enum CodingKeys: String, CodingKey {
        case id, model, digest
        case expiresAt = "expires_at"
    }
}

/// What `vessel fsck` found. `ok` is false when a version's blob is missing or damaged or the
/// audit chain does not verify (exit 1); orphans and expired drafts and sessions are listed but
/// are housekeeping, not damage.
public struct FsckReport: Codable, Sendable, Equatable {
    public var ok: Bool
    public var versions: Int
    public var files: Int
    public var blobs: Int
    /// Bytes re-hashed (0 without `rehash`).
    public var bytesHashed: UInt64
    public var rehashed: Bool
    public var findings: [FsckFinding]
    /// Versions marked `quarantined` by this run (`model:version`).
    public var quarantined: [String]
    /// nil when the store cannot list its blobs.
    public var orphans: [FsckOrphan]?
    public var expiredDrafts: [FsckExpiredDraft]
    public var expiredUploadSessions: [FsckExpiredSession]
    public var audit: AuditVerification

    public init(ok: Bool, versions: Int, files: Int, blobs: Int, bytesHashed: UInt64, rehashed: Bool, findings: [FsckFinding], quarantined: [String],
                orphans: [FsckOrphan]?, expiredDrafts: [FsckExpiredDraft], expiredUploadSessions: [FsckExpiredSession], audit: AuditVerification) {
        self.ok = ok
        self.versions = versions
        self.files = files
        self.blobs = blobs
        self.bytesHashed = bytesHashed
        self.rehashed = rehashed
        self.findings = findings
        self.quarantined = quarantined
        self.orphans = orphans
        self.expiredDrafts = expiredDrafts
        self.expiredUploadSessions = expiredUploadSessions
        self.audit = audit
    }

    enum CodingKeys: String, CodingKey {
        case ok, versions, files, blobs, rehashed, findings, quarantined, orphans, audit
        case bytesHashed = "bytes_hashed"
        case expiredDrafts = "expired_drafts"
        case expiredUploadSessions = "expired_upload_sessions"
    }
}

/// `POST /api/v1/admin/backup`: a directory on the server's machine.
public struct BackupRequest: Codable, Sendable, Equatable {
    public var to: String
    public init(to: String) { self.to = to }
}

/// What a backup wrote; also `manifest.json` in the backup directory.
public struct BackupReport: Codable, Sendable, Equatable {
    public var format: Int
    /// Where it was written.
    public var directory: String
    /// When the metadata snapshot was taken (RFC 3339 UTC).
    public var snapshotAt: String
    /// Whether the metadata is in the backup (false on PostgreSQL: pg_dump's job).
    public var metadataIncluded: Bool
    /// Whether the blobs are in the backup (false on S3: bucket versioning's job).
    public var blobsIncluded: Bool
    /// The audit chain's head in the snapshot: entry count and last hash.
    public var auditSeq: Int64
    public var auditHash: String
    public var models: Int
    public var versions: Int
    public var aliases: Int
    /// Blobs the snapshot records, and their bytes.
    public var blobs: Int
    public var blobBytes: UInt64
    /// Blobs the snapshot records that the store does not hold (not copied; the backup is
    /// incomplete and the command exits 1).
    public var missingBlobs: [String]
    /// Blobs copied by this run, and their bytes (0 when every blob was there already).
    public var blobsCopied: Int
    public var bytesCopied: UInt64
    /// Why a part was left out, and what to do instead.
    public var notes: [String]

    public init(format: Int = 1, directory: String, snapshotAt: String, metadataIncluded: Bool, blobsIncluded: Bool, auditSeq: Int64, auditHash: String,
                models: Int, versions: Int, aliases: Int, blobs: Int, blobBytes: UInt64, missingBlobs: [String], blobsCopied: Int, bytesCopied: UInt64, notes: [String]) {
        self.format = format
        self.directory = directory
        self.snapshotAt = snapshotAt
        self.metadataIncluded = metadataIncluded
        self.blobsIncluded = blobsIncluded
        self.auditSeq = auditSeq
        self.auditHash = auditHash
        self.models = models
        self.versions = versions
        self.aliases = aliases
        self.blobs = blobs
        self.blobBytes = blobBytes
        self.missingBlobs = missingBlobs
        self.blobsCopied = blobsCopied
        self.bytesCopied = bytesCopied
        self.notes = notes
    }

    enum CodingKeys: String, CodingKey {
        case format, directory, models, versions, aliases, blobs, notes
        case snapshotAt = "snapshot_at"
        case metadataIncluded = "metadata_included"
        case blobsIncluded = "blobs_included"
        case auditSeq = "audit_seq"
        case auditHash = "audit_hash"
        case blobBytes = "blob_bytes"
        case missingBlobs = "missing_blobs"
        case blobsCopied = "blobs_copied"
        case bytesCopied = "bytes_copied"
    }
}

/// What `vessel restore` did.
public struct RestoreReport: Codable, Sendable, Equatable {
    public var dataDir: String
    public var snapshotAt: String
    public var blobs: Int
    public var bytes: UInt64
    public var audit: AuditVerification
    public var findings: [FsckFinding]

    public init(dataDir: String, snapshotAt: String, blobs: Int, bytes: UInt64, audit: AuditVerification, findings: [FsckFinding]) {
        self.dataDir = dataDir
        self.snapshotAt = snapshotAt
        self.blobs = blobs
        self.bytes = bytes
        self.audit = audit
        self.findings = findings
    }

    enum CodingKeys: String, CodingKey {
        case blobs, bytes, audit, findings
        case dataDir = "data_dir"
        case snapshotAt = "snapshot_at"
    }
}
