/// A retention policy (`vessel retention set`): which versions of the models under `scope`
/// the lifecycle job deletes. The most specific scope's policy applies whole; durations are
/// seconds; a nil field is a rule that does not apply.
public struct RetentionPolicyInfo: Codable, Sendable, Equatable {
    public var scope: String
    public var keepLast: Int?
    public var keepFor: Int64?
    public var deleteQuarantinedAfter: Int64?
    public var draftsExpireAfter: Int64?
    public var updatedAt: String
    public var updatedBy: String

    public init(scope: String, keepLast: Int? = nil, keepFor: Int64? = nil, deleteQuarantinedAfter: Int64? = nil,
                draftsExpireAfter: Int64? = nil, updatedAt: String = "", updatedBy: String = "") {
        self.scope = scope
        self.keepLast = keepLast
        self.keepFor = keepFor
        self.deleteQuarantinedAfter = deleteQuarantinedAfter
        self.draftsExpireAfter = draftsExpireAfter
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
    }

    enum CodingKeys: String, CodingKey {
        case scope
        case keepLast = "keep_last"
        case keepFor = "keep_for_seconds"
        case deleteQuarantinedAfter = "delete_quarantined_after_seconds"
        case draftsExpireAfter = "drafts_expire_after_seconds"
        case updatedAt = "updated_at"
        case updatedBy = "updated_by"
    }
}

/// `PUT /api/v1/retention`: durations as written on the command line (`7d`).
public struct RetentionPolicyRequest: Codable, Sendable, Equatable {
    public var scope: String
    public var keepLast: Int?
    public var keepFor: String?
    public var deleteQuarantinedAfter: String?
    public var draftsExpireAfter: String?

    public init(scope: String, keepLast: Int? = nil, keepFor: String? = nil, deleteQuarantinedAfter: String? = nil, draftsExpireAfter: String? = nil) {
        self.scope = scope
        self.keepLast = keepLast
        self.keepFor = keepFor
        self.deleteQuarantinedAfter = deleteQuarantinedAfter
        self.draftsExpireAfter = draftsExpireAfter
    }

    enum CodingKeys: String, CodingKey {
        case scope
        case keepLast = "keep_last"
        case keepFor = "keep_for"
        case deleteQuarantinedAfter = "delete_quarantined_after"
        case draftsExpireAfter = "drafts_expire_after"
    }

    /// The policy this request sets, checked: a known scope, a positive `keep_last`, durations
    /// like `7d`, and at least one rule.
    public func validated() throws(VesselError) -> (scope: Scope, policy: RetentionPolicyInfo) {
        let parsed = try Scope(scope)
        if let keepLast, keepLast < 1 { throw .invalidArgument("--keep-last must be at least 1") }
        func seconds(_ text: String?) throws(VesselError) -> Int64? {
            guard let text else { return nil }
            return try Timestamp.parseDuration(text)
        }
        let policy = RetentionPolicyInfo(scope: parsed.description, keepLast: keepLast, keepFor: try seconds(keepFor),
                                         deleteQuarantinedAfter: try seconds(deleteQuarantinedAfter), draftsExpireAfter: try seconds(draftsExpireAfter))
        guard policy.keepLast != nil || policy.keepFor != nil || policy.deleteQuarantinedAfter != nil || policy.draftsExpireAfter != nil else {
            throw .invalidArgument("a retention policy needs at least one of --keep-last, --keep-for, --delete-quarantined-after, --drafts-expire-after")
        }
        return (parsed, policy)
    }
}

/// A hold (`vessel hold`): the version is kept whatever a policy says.
public struct HoldInfo: Codable, Sendable, Equatable {
    public var model: String
    public var version: Int
    public var reason: String
    public var createdAt: String
    public var createdBy: String

    public init(model: String, version: Int, reason: String, createdAt: String, createdBy: String) {
        self.model = model
        self.version = version
        self.reason = reason
        self.createdAt = createdAt
        self.createdBy = createdBy
    }

    enum CodingKeys: String, CodingKey {
        case model, version, reason
        case createdAt = "created_at"
        case createdBy = "created_by"
    }
}

/// `PUT /api/v1/models/:owner/:name/versions/:n/hold`.
public struct HoldRequest: Codable, Sendable, Equatable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}

/// A version the lifecycle job deletes (or would, in a dry run), and the rule that let it go.
public struct GCVersion: Codable, Sendable, Equatable, Hashable {
    public var model: String
    public var version: Int
    public var reason: String

    public init(model: String, version: Int, reason: String) {
        self.model = model
        self.version = version
        self.reason = reason
    }
}

/// `vessel gc run [--dry-run]`: what one run deleted and swept, or would.
public struct GCReport: Codable, Sendable, Equatable {
    public var versions: [GCVersion]
    public var drafts: Int
    public var blobs: Int
    public var bytes: Int64
    public var dryRun: Bool
    public var startedAt: String
    public var durationMs: Int64
    /// Why the blob sweep was left for the next run (a backup holds its lease), if it was.
    public var sweepSkipped: String?

    public init(versions: [GCVersion] = [], drafts: Int = 0, blobs: Int = 0, bytes: Int64 = 0, dryRun: Bool = false,
                startedAt: String = "", durationMs: Int64 = 0, sweepSkipped: String? = nil) {
        self.versions = versions
        self.drafts = drafts
        self.blobs = blobs
        self.bytes = bytes
        self.dryRun = dryRun
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.sweepSkipped = sweepSkipped
    }

    enum CodingKeys: String, CodingKey {
        case versions, drafts, blobs, bytes
        case dryRun = "dry_run"
        case startedAt = "started_at"
        case durationMs = "duration_ms"
        case sweepSkipped = "sweep_skipped"
    }
}

/// `POST /api/v1/admin/gc`.
public struct GCRequest: Codable, Sendable, Equatable {
    public var dryRun: Bool
    public init(dryRun: Bool = false) { self.dryRun = dryRun }
    enum CodingKeys: String, CodingKey { case dryRun = "dry_run" }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dryRun = try c.decodeIfPresent(Bool.self, forKey: .dryRun) ?? false
    }
}

/// One run of the lifecycle job, as `vessel gc status` lists it.
public struct GCRunInfo: Codable, Sendable, Equatable {
    public var startedAt: String
    public var durationMs: Int64
    public var dryRun: Bool
    public var versions: Int
    public var drafts: Int
    public var blobs: Int
    public var bytes: Int64

    public init(startedAt: String, durationMs: Int64, dryRun: Bool, versions: Int, drafts: Int, blobs: Int, bytes: Int64) {
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.dryRun = dryRun
        self.versions = versions
        self.drafts = drafts
        self.blobs = blobs
        self.bytes = bytes
    }

    enum CodingKeys: String, CodingKey {
        case versions, drafts, blobs, bytes
        case startedAt = "started_at"
        case durationMs = "duration_ms"
        case dryRun = "dry_run"
    }
}
