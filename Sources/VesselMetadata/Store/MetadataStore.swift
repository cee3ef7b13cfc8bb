import VesselCore

/// Principals (users and service accounts).
public protocol PrincipalStore: Sendable {
    /// - Throws: `already_exists` when the name is taken.
    func createPrincipal(name: String, kind: PrincipalKind, change: ChangeContext) async throws -> PrincipalInfo
    func listPrincipals() async throws -> [PrincipalInfo]
    func principal(named name: String) async throws -> PrincipalInfo?
}

/// Bearer tokens, stored only as SHA-256 hashes.
public protocol TokenStore: Sendable {
    /// - Throws: `not_found` when the principal does not exist.
    func createToken(principal: String, name: String?, hash: String, expiresAt: Int64?, change: ChangeContext) async throws -> TokenInfo
    /// Ensures a token with this hash belongs to `principal` (idempotent; used for `VESSEL_ADMIN_TOKEN`).
    func ensureToken(principal: String, name: String, hash: String) async throws
    /// The principal owning a live token with this hash.
    /// - Throws: `unauthenticated` for an unknown, expired or revoked token (the message says which).
    func authenticate(hash: String, now: Int64) async throws -> PrincipalInfo
    func listTokens() async throws -> [TokenInfo]
    /// - Throws: `not_found` for an unknown id.
    func revokeToken(id: String, change: ChangeContext) async throws
}

/// Models: `owner/name`, description, tags.
public protocol ModelStore: Sendable {
    /// - Throws: `already_exists`.
    func createModel(_ name: ModelName, description: String, tags: [String], change: ChangeContext) async throws -> ModelInfo
    /// - Throws: `not_found`.
    func model(_ name: ModelName) async throws -> ModelInfo
    /// One page of the models some scope in `readable` covers (`[.registry]`: every model) that
    /// match `query`, in its order (docs/search.md). The filter is part of the query, so a page — and its cursor — only ever
    /// names a model the caller may read. - Throws: `invalid_argument` for a foreign cursor.
    func listModels(readable: [Scope], query: ModelQuery, limit: Int, cursor: String?) async throws -> Page<ModelInfo>
    /// Changes the description and tags (tags added after those removed; unchanged fields
    /// kept) with `model.update` and `model.updated`. - Throws: `not_found`, `invalid_argument`.
    func updateModel(_ model: ModelName, update: UpdateModelRequest, change: ChangeContext) async throws -> ModelInfo
}

extension ModelStore {
    /// Every readable model in name order.
    public func listModels(readable: [Scope], limit: Int, cursor: String?) async throws -> Page<ModelInfo> {
        try await listModels(readable: readable, query: ModelQuery(), limit: limit, cursor: cursor)
    }
}

/// Versions: drafts (pending), commit, state changes, resolution.
public protocol VersionStore: Sendable {
    /// Records a pending version holding `manifest`, creating the model on first push.
    /// Returns the draft id.
    func createDraft(model: ModelName, manifest: Manifest, digest: Digest, description: String, change: ChangeContext) async throws -> String
    /// The manifest of a draft, pending or committed. - Throws: `not_found`, `conflict` when
    /// the version it became was deleted.
    func draftManifest(model: ModelName, draftID: String) async throws -> Manifest
    /// The version a committed draft became, nil while the draft is pending: a retried commit
    /// answers with it. - Throws: `not_found`, `conflict` when that version was deleted.
    func committedDraft(model: ModelName, draftID: String) async throws -> VersionInfo?
    /// `committedDraft`, and for a pending draft its manifest, in one read (the commit route's
    /// first step). - Throws: as `committedDraft`.
    func draftToCommit(model: ModelName, draftID: String) async throws -> DraftToCommit
    /// Numbers the draft (the next free number of its model) and makes it `ready` or
    /// `quarantined` (any finding) in one transaction with its audit entry and events.
    /// Idempotent: a committed draft answers with its version and nothing is written.
    func commitDraft(model: ModelName, draftID: String, findings: [Finding], analysis: VersionAnalysis, change: ChangeContext) async throws -> VersionInfo
    /// A committed version with its manifest; `latest` is the highest-numbered ready version.
    /// - Throws: `not_found` (deleted versions are not found).
    func resolve(_ reference: Reference) async throws -> VersionInfo
    /// One page of a model's committed versions matching `filter`, highest number first.
    /// - Throws: `not_found`, `invalid_argument` for a foreign cursor.
    func listVersions(model: ModelName, filter: VersionFilter, limit: Int, cursor: String?) async throws -> Page<VersionInfo>
    /// One page of the versions of every model `readable` covers matching `search`, newest
    /// (creation time) first. - Throws: `invalid_argument` for a foreign cursor.
    func searchVersions(readable: [Scope], search: VersionSearch, limit: Int, cursor: String?) async throws -> Page<VersionInfo>
    /// Changes a live version's description with `version.update` and `version.updated`.
    /// - Throws: `not_found` (deleted versions too), `invalid_argument`.
    func updateVersion(model: ModelName, version: Int, description: String, change: ChangeContext) async throws -> VersionInfo
    /// `archived` or `deleted`. Deleting needs every alias moved off the version first.
    /// - Throws: `not_found`, `conflict`.
    func changeState(model: ModelName, version: Int, to state: VersionState, change: ChangeContext) async throws -> VersionInfo
}

/// Aliases: named, movable pointers to versions. They move only through
/// `GovernanceStore.promote`, which applies the protection rules in the same transaction;
/// there is deliberately no unguarded setter.
public protocol AliasStore: Sendable {
    func aliases(model: ModelName) async throws -> [AliasInfo]
}

/// Which verified blobs exist, and who may use which (issue 21, item 1): knowing a digest
/// never grants its content. A principal may name a stored blob in a version of a model only
/// when a committed version of a model it may read holds the blob, or when it proved
/// possession by uploading the bytes for that model (`BlobProof`).
public protocol BlobIndex: Sendable {
    /// Records a verified blob and, with `proof`, that this principal uploaded it for this
    /// model, in one transaction. Recording a stored blob again only adds the proof.
    func recordBlob(_ digest: Digest, size: UInt64, proof: BlobProof?) async throws
    func blobSize(_ digest: Digest) async throws -> UInt64?
    /// The subset of `digests`, in input order without repeats, that `principal` may not use in
    /// a version of `model`: not stored, or stored but neither proved by `principal` for
    /// `model` nor held by a committed version of a model that `readable` covers.
    func unusableBlobs(_ digests: [Digest], model: ModelName, principal: String, readable: [Scope]) async throws -> [Digest]
}

extension BlobIndex {
    public func recordBlob(_ digest: Digest, size: UInt64) async throws {
        try await recordBlob(digest, size: size, proof: nil)
    }

    /// The size of `digest` when stored and usable by `principal` in `model` (see
    /// `unusableBlobs`); nil otherwise, so an answer never depends on blobs it may not read.
    public func usableBlobSize(_ digest: Digest, model: ModelName, principal: String, readable: [Scope]) async throws -> UInt64? {
        guard try await unusableBlobs([digest], model: model, principal: principal, readable: readable).isEmpty else { return nil }
        return try await blobSize(digest)
    }
}

/// A principal's verified upload of a blob for a model.
public struct BlobProof: Sendable, Hashable {
    public var model: ModelName
    public var principal: String

    public init(model: ModelName, principal: String) {
        self.model = model
        self.principal = principal
    }
}

/// What an audit listing keeps: entries of one model, by one actor, of one action (`model.push`
/// exactly, or a family: `deployment` keeps `deployment.rolled_back`, `deployment.started`, …),
/// oldest first (the API) or newest first (the web UI). Empty fields keep everything.
public struct AuditFilter: Sendable, Equatable {
    public var model: ModelName?
    public var actor: String?
    public var action: String?
    public var newestFirst: Bool

    public init(model: ModelName? = nil, actor: String? = nil, action: String? = nil, newestFirst: Bool = false) {
        self.model = model
        self.actor = actor.flatMap { $0.isEmpty ? nil : $0 }
        self.action = action.flatMap { $0.isEmpty ? nil : $0 }
        self.newestFirst = newestFirst
    }

    /// The cursor's list name: a cursor of one filter or order is refused by another.
    var list: String { "audit-\(newestFirst ? "newest" : "oldest") \(model?.description ?? "*") \(actor ?? "*") \(action ?? "*")" }
}

/// The hash-chained audit log.
public protocol AuditLog: Sendable {
    /// Entries matching `filter`, in its order, `limit` at a time.
    func auditEntries(_ filter: AuditFilter, limit: Int, cursor: String?) async throws -> Page<AuditEntry>
    func verifyAuditChain() async throws -> AuditVerification
}

extension AuditLog {
    /// One model's entries (or all), oldest first.
    public func auditEntries(model: ModelName?, limit: Int, cursor: String?) async throws -> Page<AuditEntry> {
        try await auditEntries(AuditFilter(model: model), limit: limit, cursor: cursor)
    }
}

/// Which file formats versions may hold, per scope.
public protocol FormatPolicyStore: Sendable {
    func setFormatPolicy(scope: Scope, formats: [String], change: ChangeContext) async throws -> FormatPolicyInfo
    func formatPolicies() async throws -> [FormatPolicyInfo]
    /// The most specific policy covering `model` (model, then owner, then registry), if any.
    func formatPolicy(for model: ModelName) async throws -> [String]?
}

/// Everything the server needs from metadata.
public typealias MetadataStore = PrincipalStore & TokenStore & ModelStore & VersionStore & AliasStore & BlobIndex & BlobMembership & AuditLog & FormatPolicyStore & GrantStore & GovernanceStore & SignatureStore & DeploymentStore

/// Whether a blob belongs to a model (so reading it needs only that model's read permission).
public protocol BlobMembership: Sendable {
    /// True when a committed, not deleted version of `model` holds a file with `digest`.
    func modelContainsBlob(model: ModelName, digest: Digest) async throws -> Bool
}

/// Roles granted to principals on scopes.
public protocol GrantStore: Sendable {
    /// - Throws: `not_found` for an unknown principal, `already_exists` for a repeated grant.
    func grant(principal: String, role: Role, scope: Scope, change: ChangeContext) async throws -> GrantInfo
    /// - Throws: `not_found` when no such grant exists.
    func revoke(principal: String, role: Role, scope: Scope, change: ChangeContext) async throws
    func grants(principal: String?) async throws -> [GrantInfo]
    /// The highest role `principal` holds on a scope covering `model` (registry-wide grants only
    /// when `model` is nil).
    func role(of principal: String, on model: ModelName?) async throws -> Role?
    /// The highest role `principal` holds on `scope` or a scope covering it (`acme/*` is
    /// covered by `acme/*` and `*`), for things that live on a scope rather than a model.
    func role(of principal: String, onScope scope: Scope) async throws -> Role?
}

extension GrantStore {
    /// The scopes whose models `principal` may read: every grant gives at least `viewer`.
    public func readableScopes(of principal: String) async throws -> [Scope] {
        try await grants(principal: principal).compactMap { try? Scope($0.scope) }
    }
}

/// Protected aliases, checks, promotions and alias history.
public protocol GovernanceStore: Sendable {
    func protect(_ request: ProtectRequest, change: ChangeContext) async throws -> ProtectionInfo
    /// - Throws: `not_found`.
    func unprotect(scope: Scope, alias: AliasName, change: ChangeContext) async throws
    func protections() async throws -> [ProtectionInfo]
    func reportCheck(model: ModelName, version: Int, _ report: CheckReportRequest, change: ChangeContext) async throws -> CheckInfo
    /// Moves, requests or refuses, in one transaction with the gates; refusals are audited.
    func promote(_ attempt: PromotionAttempt, change: ChangeContext) async throws -> PromotionResult
    /// Approves (re-evaluating every rule) or rejects a pending request. Approving a deploy's
    /// request asks `environment` (outside the transaction) what its version fails in the
    /// environments the deployment's agents report: any failure is `incompatible` unless
    /// `forceIncompatible`, which deploys and audits `deployment.force_incompatible`.
    func decide(requestID: String, approve: Bool, role: @escaping @Sendable (ModelName) async throws -> Role?,
                environment: @escaping @Sendable (PromotionRequestInfo) async throws -> [String], forceIncompatible: Bool,
                change: ChangeContext) async throws -> PromotionResult
    func promotionRequests(model: ModelName?) async throws -> [PromotionRequestInfo]
    func aliasHistory(model: ModelName, alias: AliasName) async throws -> [AliasHistoryEntry]
    /// What the alias pointed at, at `at` (now when nil), from the audit chain.
    func resolveAlias(model: ModelName, alias: AliasName, at: Int64?) async throws -> ResolvedAlias
}

extension GovernanceStore {
    /// Decides a request whose environment is not judged (an alias's promotion, or tests).
    public func decide(requestID: String, approve: Bool, role: @escaping @Sendable (ModelName) async throws -> Role?, change: ChangeContext) async throws -> PromotionResult {
        try await decide(requestID: requestID, approve: approve, role: role, environment: { _ in [] }, forceIncompatible: false, change: change)
    }
}

/// One attempt to move (or remove) an alias.
public struct PromotionAttempt: Sendable {
    public enum Mode: Sendable {
        /// `vessel promote`: may create a request when approval is required.
        case promote
        /// `vessel alias set`: never creates a request.
        case set
        /// `vessel alias rm`.
        case remove
    }

    public var model: ModelName
    public var alias: AliasName
    public var version: Int
    public var expectCurrent: Int?
    public var expectAbsent: Bool
    public var mode: Mode
    /// The caller's highest role covering the model.
    public var role: Role?

    public init(model: ModelName, alias: AliasName, version: Int, expectCurrent: Int? = nil, expectAbsent: Bool = false, mode: Mode, role: Role?) {
        self.model = model
        self.alias = alias
        self.version = version
        self.expectCurrent = expectCurrent
        self.expectAbsent = expectAbsent
        self.mode = mode
        self.role = role
    }
}

/// What the commit route finds first (`VersionStore.draftToCommit`): the version a committed
/// draft became (a retried commit answers with it), or a pending draft's manifest.
public enum DraftToCommit: Sendable {
    case committed(VersionInfo)
    case pending(Manifest)
}
