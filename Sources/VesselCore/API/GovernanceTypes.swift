/// A role on a scope. Each role includes the ones before it.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    /// Read models, versions, aliases.
    case viewer
    /// Push versions, set unprotected aliases, request promotions, report checks.
    case contributor
    /// Promote to protected aliases, approve requests, read the audit log of its scope.
    case maintainer
    /// Everything: principals, grants, keys, policies, webhooks, `audit verify`.
    case admin

    var rank: Int { Role.allCases.firstIndex(of: self) ?? 0 }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }

    public init(parsing text: String) throws(VesselError) {
        guard let role = Role(rawValue: text) else {
            throw .invalidArgument("role '\(text)' must be one of viewer, contributor, maintainer, admin")
        }
        self = role
    }
}

public struct GrantInfo: Codable, Sendable, Equatable {
    public var principal: String
    public var role: Role
    public var scope: String
    public var createdAt: String
    public var createdBy: String

    public init(principal: String, role: Role, scope: String, createdAt: String, createdBy: String) {
        self.principal = principal
        self.role = role
        self.scope = scope
        self.createdAt = createdAt
        self.createdBy = createdBy
    }

    enum CodingKeys: String, CodingKey {
        case principal, role, scope
        case createdAt = "created_at"
        case createdBy = "created_by"
    }
}

public struct GrantRequest: Codable, Sendable {
    public var principal: String
    public var role: Role
    public var scope: String
    public init(principal: String, role: Role, scope: String) {
        self.principal = principal
        self.role = role
        self.scope = scope
    }
}

/// Rules on an alias under a scope.
public struct ProtectionInfo: Codable, Sendable, Equatable {
    public var scope: String
    public var alias: String
    /// The least role that may move the alias.
    public var role: Role
    public var requireApproval: Bool
    /// `scan-clean`, `safetensors-only`, `signed-by:KEY`, `check:NAME`, `check:NAME@a|b` (only
    /// principals a or b may satisfy it), `metric:KEY>=VALUE`. Reports by the version's creator
    /// never satisfy `check:` or `metric:` gates unless a `check:NAME@…` gate names the creator.
    public var gates: [String]
    public var updatedAt: String
    public var updatedBy: String

    public init(scope: String, alias: String, role: Role, requireApproval: Bool, gates: [String], updatedAt: String, updatedBy: String) {
        self.scope = scope
        self.alias = alias
        self.role = role
        self.requireApproval = requireApproval
        self.gates = gates
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
    }

    enum CodingKeys: String, CodingKey {
        case scope, alias, role, gates
        case requireApproval = "require_approval"
        case updatedAt = "updated_at"
        case updatedBy = "updated_by"
    }
}

public struct ProtectRequest: Codable, Sendable {
    public var scope: String
    public var alias: String
    public var role: Role
    public var requireApproval: Bool
    public var gates: [String]

    public init(scope: String, alias: String, role: Role, requireApproval: Bool, gates: [String]) {
        self.scope = scope
        self.alias = alias
        self.role = role
        self.requireApproval = requireApproval
        self.gates = gates
    }

    enum CodingKeys: String, CodingKey {
        case scope, alias, role, gates
        case requireApproval = "require_approval"
    }
}

/// Why a promotion did not apply: `rule` is a gate string or one of `role`, `approval`,
/// `version-state`, `expect-current`.
public struct RuleFailure: Codable, Sendable, Equatable {
    public var rule: String
    public var message: String
    public init(rule: String, message: String) {
        self.rule = rule
        self.message = message
    }
}

/// `{"status": "applied"|"pending"|"refused", "request_id", "failures"}`.
public struct PromotionResult: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case applied, pending, refused
    }

    public var status: Status
    public var requestID: String?
    public var failures: [RuleFailure]
    public var model: ModelName
    public var alias: String
    public var version: Int

    public init(status: Status, requestID: String?, failures: [RuleFailure], model: ModelName, alias: String, version: Int) {
        self.status = status
        self.requestID = requestID
        self.failures = failures
        self.model = model
        self.alias = alias
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case status, failures, model, alias, version
        case requestID = "request_id"
    }
}

public struct PromotionRequestInfo: Codable, Sendable, Equatable {
    public var id: String
    public var model: ModelName
    /// `alias`, or `deployment` (a deploy into the environment named by `alias`; approving it
    /// starts the rollout).
    public var kind: String
    public var alias: String
    public var version: Int
    public var digest: Digest
    public var status: String
    public var requestedBy: String
    public var reason: String?
    public var createdAt: String
    public var decidedBy: String?
    public var decidedAt: String?
    public var decisionReason: String?

    public init(id: String, model: ModelName, kind: String = "alias", alias: String, version: Int, digest: Digest, status: String, requestedBy: String, reason: String?, createdAt: String, decidedBy: String?, decidedAt: String?, decisionReason: String?) {
        self.id = id
        self.model = model
        self.kind = kind
        self.alias = alias
        self.version = version
        self.digest = digest
        self.status = status
        self.requestedBy = requestedBy
        self.reason = reason
        self.createdAt = createdAt
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
        self.decisionReason = decisionReason
    }

    enum CodingKeys: String, CodingKey {
        case id, model, kind, alias, version, digest, status, reason
        case requestedBy = "requested_by"
        case createdAt = "created_at"
        case decidedBy = "decided_by"
        case decidedAt = "decided_at"
        case decisionReason = "decision_reason"
    }
}

public struct DecisionRequest: Codable, Sendable {
    public var reason: String?
    /// Approving a deploy whose version the deployment's agents report they cannot run:
    /// deploy anyway (audited `deployment.force_incompatible`); otherwise 409 `incompatible`.
    public var forceIncompatible: Bool?

    public init(reason: String?, forceIncompatible: Bool? = nil) {
        self.reason = reason
        self.forceIncompatible = forceIncompatible
    }

    enum CodingKeys: String, CodingKey {
        case reason
        case forceIncompatible = "force_incompatible"
    }
}

/// A CI check reported against one version digest.
public struct CheckReportRequest: Codable, Sendable {
    public var name: String
    public var status: String
    public var metrics: [String: Double]
    public var url: String?
    public init(name: String, status: String, metrics: [String: Double], url: String?) {
        self.name = name
        self.status = status
        self.metrics = metrics
        self.url = url
    }
}

public struct CheckInfo: Codable, Sendable, Equatable {
    public var model: ModelName
    public var version: Int
    public var digest: Digest
    /// What the report is keyed by: every version with this manifest digest shares it.
    public var manifestDigest: Digest
    public var name: String
    public var status: String
    public var metrics: [String: Double]
    public var url: String?
    public var reportedBy: String
    public var reportedAt: String

    public init(model: ModelName, version: Int, digest: Digest, manifestDigest: Digest, name: String, status: String, metrics: [String: Double], url: String?, reportedBy: String, reportedAt: String) {
        self.model = model
        self.version = version
        self.digest = digest
        self.manifestDigest = manifestDigest
        self.name = name
        self.status = status
        self.metrics = metrics
        self.url = url
        self.reportedBy = reportedBy
        self.reportedAt = reportedAt
    }

    enum CodingKeys: String, CodingKey {
        case model, version, digest, name, status, metrics, url
        case manifestDigest = "manifest_digest"
        case reportedBy = "reported_by"
        case reportedAt = "reported_at"
    }
}

/// `vessel resolve owner/name@alias [--at T]`: `{"model","alias","version","digest"}`.
public struct ResolvedAlias: Codable, Sendable, Equatable {
    public var model: ModelName
    public var alias: String
    public var version: Int
    public var digest: Digest
    public init(model: ModelName, alias: String, version: Int, digest: Digest) {
        self.model = model
        self.alias = alias
        self.version = version
        self.digest = digest
    }
}

/// One move of an alias, from the audit chain.
public struct AliasHistoryEntry: Codable, Sendable, Equatable {
    public var seq: Int64
    public var time: String
    public var actor: String
    public var action: String
    public var fromVersion: Int?
    public var toVersion: Int?
    public var reason: String?

    public init(seq: Int64, time: String, actor: String, action: String, fromVersion: Int?, toVersion: Int?, reason: String?) {
        self.seq = seq
        self.time = time
        self.actor = actor
        self.action = action
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case seq, time, actor, action, reason
        case fromVersion = "from_version"
        case toVersion = "to_version"
    }
}
