public struct ModelInfo: Codable, Sendable, Equatable {
    public var model: ModelName
    public var description: String
    public var tags: [String]
    public var createdAt: String
    public var createdBy: String
    /// The highest ready version, if any.
    public var latestVersion: Int?
    public var versions: Int
    /// The last change to the model: its description or tags, or a version committed or
    /// updated (`sort=updated` orders by it).
    public var updatedAt: String?

    public init(model: ModelName, description: String, tags: [String], createdAt: String, createdBy: String, latestVersion: Int?, versions: Int, updatedAt: String? = nil) {
        self.model = model
        self.description = description
        self.tags = tags
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.latestVersion = latestVersion
        self.versions = versions
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case model, description, tags, versions
        case updatedAt = "updated_at"
        case createdAt = "created_at"
        case createdBy = "created_by"
        case latestVersion = "latest_version"
    }
}

/// The body of `POST /api/v1/models/:owner/:name` (the model is named by the path); both
/// fields may be left out.
public struct CreateModelRequest: Codable, Sendable {
    public var description: String?
    public var tags: [String]?
    public init(description: String?, tags: [String]?) {
        self.description = description
        self.tags = tags
    }
}

public struct VersionInfo: Codable, Sendable, Equatable {
    public var model: ModelName
    public var version: Int
    /// The model-signing root digest: SHA-256 over the file digests in path order. It ignores
    /// file names; signatures are checked against it.
    public var digest: Digest
    /// SHA-256 over every file's path, size and digest (`Manifest.manifestDigest`): what
    /// checks and gates are keyed by.
    public var manifestDigest: Digest
    public var state: VersionState
    public var files: Int
    public var size: UInt64
    public var description: String
    public var createdAt: String
    public var createdBy: String
    public var aliases: [String]
    public var findings: [Finding]
    /// Present when one version is fetched, null in lists.
    public var manifest: [ManifestEntry]?
    /// Safetensors totals (parameters, dtypes, …), when the version holds safetensors files.
    public var summary: ModelSummary?
    /// The scanner's report per file; present when one version is fetched.
    public var scan: [FileScanReport]?
    /// The version's signatures; filled in by `vessel show`, null in API answers (they are
    /// listed by `GET …/versions/:version/signatures`).
    public var signatures: [SignatureInfo]?
    /// The training run the version links (`OWNER/ID`) and its environment; filled in by
    /// `vessel show`, null in API answers (`GET …/versions/:version/environment` has them).
    public var run: String?
    public var environment: VersionEnvironment?

    public init(model: ModelName, version: Int, digest: Digest, manifestDigest: Digest, state: VersionState, files: Int, size: UInt64, description: String, createdAt: String, createdBy: String, aliases: [String], findings: [Finding], manifest: [ManifestEntry]?, summary: ModelSummary? = nil, scan: [FileScanReport]? = nil, signatures: [SignatureInfo]? = nil) {
        self.model = model
        self.version = version
        self.digest = digest
        self.manifestDigest = manifestDigest
        self.state = state
        self.files = files
        self.size = size
        self.description = description
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.aliases = aliases
        self.findings = findings
        self.manifest = manifest
        self.summary = summary
        self.scan = scan
        self.signatures = signatures
    }

    enum CodingKeys: String, CodingKey {
        case model, version, digest, state, files, size, description, aliases, findings, manifest, summary, scan, signatures, run, environment
        case manifestDigest = "manifest_digest"
        case createdAt = "created_at"
        case createdBy = "created_by"
    }
}

/// Step one of a push: the manifest. The answer names the blobs the server lacks.
public struct DraftRequest: Codable, Sendable {
    public var files: [ManifestEntry]
    public var description: String?
    /// The run and environment the version links (issue 25); null for none.
    public var lineage: VersionLineageRequest?
    public init(files: [ManifestEntry], description: String?, lineage: VersionLineageRequest? = nil) {
        self.files = files
        self.description = description
        self.lineage = lineage
    }
}

public struct DraftResponse: Codable, Sendable {
    public var draftId: String
    public var missing: [Digest]
    public init(draftId: String, missing: [Digest]) {
        self.draftId = draftId
        self.missing = missing
    }

    enum CodingKeys: String, CodingKey {
        case draftId = "draft_id"
        case missing
    }
}

public struct AliasInfo: Codable, Sendable, Equatable {
    public var model: ModelName
    public var alias: String
    public var version: Int
    public var digest: Digest
    public var updatedAt: String
    public var updatedBy: String

    public init(model: ModelName, alias: String, version: Int, digest: Digest, updatedAt: String, updatedBy: String) {
        self.model = model
        self.alias = alias
        self.version = version
        self.digest = digest
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
    }

    enum CodingKeys: String, CodingKey {
        case model, alias, version, digest
        case updatedAt = "updated_at"
        case updatedBy = "updated_by"
    }
}

/// Move an alias. `expectCurrent`: a version number the alias must point at now;
/// `expectAbsent`: the alias must not exist yet (`--expect-current none`).
public struct SetAliasRequest: Codable, Sendable {
    public var version: Int
    public var expectCurrent: Int?
    public var expectAbsent: Bool?
    public var reason: String?

    public init(version: Int, expectCurrent: Int? = nil, expectAbsent: Bool? = nil, reason: String? = nil) {
        self.version = version
        self.expectCurrent = expectCurrent
        self.expectAbsent = expectAbsent
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case version, reason
        case expectCurrent = "expect_current"
        case expectAbsent = "expect_absent"
    }
}

/// What `vessel pull` writes into `DIR/.vessel.json`.
public struct PullMarker: Codable, Sendable, Equatable {
    public var model: ModelName
    public var version: Int
    public var digest: Digest
    public init(model: ModelName, version: Int, digest: Digest) {
        self.model = model
        self.version = version
        self.digest = digest
    }
}

/// `POST …/promote`: move alias `to` to `version`.
public struct PromoteRequest: Codable, Sendable {
    public var version: Int
    public var to: String
    public var expectCurrent: Int?
    public var expectAbsent: Bool?
    public var reason: String?

    public init(version: Int, to: String, expectCurrent: Int? = nil, expectAbsent: Bool? = nil, reason: String? = nil) {
        self.version = version
        self.to = to
        self.expectCurrent = expectCurrent
        self.expectAbsent = expectAbsent
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case version, to, reason
        case expectCurrent = "expect_current"
        case expectAbsent = "expect_absent"
    }
}
