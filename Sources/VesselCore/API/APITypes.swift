/// JSON shapes shared by the server and the client. Keys are snake_case, numbers are numbers,
/// times are RFC 3339 UTC strings.

/// A page of a list: `{"items": [...], "next_cursor": "…" | null}`.
public struct Page<Item: Codable & Sendable>: Codable, Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }
}

public enum PrincipalKind: String, Codable, Sendable {
    case user
    case service
}

public struct PrincipalInfo: Codable, Sendable, Equatable {
    public var name: String
    public var kind: PrincipalKind
    public var createdAt: String

    public init(name: String, kind: PrincipalKind, createdAt: String) {
        self.name = name
        self.kind = kind
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case name, kind
        case createdAt = "created_at"
    }
}

public struct CreatePrincipalRequest: Codable, Sendable {
    public var name: String
    public var kind: PrincipalKind
    /// Client certificate identities that stand for the principal (mutual TLS, docs/tls.md):
    /// `CN=…[,O=…]`, `URI:…` or `DNS:…`. Absent or null: none.
    public var certSubjects: [String]?
    public init(name: String, kind: PrincipalKind, certSubjects: [String]? = nil) {
        self.name = name
        self.kind = kind
        self.certSubjects = certSubjects
    }

    enum CodingKeys: String, CodingKey {
        case name, kind
        case certSubjects = "cert_subjects"
    }
}

public struct TokenInfo: Codable, Sendable, Equatable {
    public var id: String
    public var name: String?
    public var principal: String
    public var createdAt: String
    public var expiresAt: String?
    public var revokedAt: String?

    public init(id: String, name: String?, principal: String, createdAt: String, expiresAt: String?, revokedAt: String?) {
        self.id = id
        self.name = name
        self.principal = principal
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, principal
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
    }
}

public struct CreateTokenRequest: Codable, Sendable {
    public var principal: String
    public var name: String?
    public var expiresInSeconds: Int64?

    public init(principal: String, name: String?, expiresInSeconds: Int64?) {
        self.principal = principal
        self.name = name
        self.expiresInSeconds = expiresInSeconds
    }

    enum CodingKeys: String, CodingKey {
        case principal, name
        case expiresInSeconds = "expires_in_seconds"
    }
}

/// Returned once, when a token is created: `{"id","token","principal","expires_at"}`.
public struct CreatedToken: Codable, Sendable {
    public var id: String
    public var token: String
    public var principal: String
    public var expiresAt: String?

    public init(id: String, token: String, principal: String, expiresAt: String?) {
        self.id = id
        self.token = token
        self.principal = principal
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case id, token, principal
        case expiresAt = "expires_at"
    }
}

public struct WhoAmI: Codable, Sendable {
    public var principal: String
    public var kind: PrincipalKind
    public init(principal: String, kind: PrincipalKind) {
        self.principal = principal
        self.kind = kind
    }
}
