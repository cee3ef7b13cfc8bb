/// API shapes of version signatures and trusted keys.

/// Whether a stored signature was checked against a trusted key.
public enum SignatureStatus: String, Codable, Sendable {
    /// It verified with the trusted key named by `key_name`, which is still trusted.
    case trusted
    /// No trusted key verified it (unknown key), or its key was removed since.
    case unverified
}

/// One signature of a version: `{"id","key_hint","status","key_name","signed_at","signed_by"}`.
/// `signed_at` is when it was attached, `signed_by` the principal that attached it.
public struct SignatureInfo: Codable, Sendable, Equatable {
    public var id: String
    /// The bundle's key hint (lowercase hex SHA-256 of the public key PEM), "" when it has none.
    public var keyHint: String
    public var status: SignatureStatus
    /// The trusted key that verified it; null when unverified.
    public var keyName: String?
    public var signedAt: String
    public var signedBy: String

    public init(id: String, keyHint: String, status: SignatureStatus, keyName: String?, signedAt: String, signedBy: String) {
        self.id = id
        self.keyHint = keyHint
        self.status = status
        self.keyName = keyName
        self.signedAt = signedAt
        self.signedBy = signedBy
    }

    enum CodingKeys: String, CodingKey {
        case id, status
        case keyHint = "key_hint"
        case keyName = "key_name"
        case signedAt = "signed_at"
        case signedBy = "signed_by"
    }
}

/// A public key the registry trusts for signatures, by name.
public struct TrustedKeyInfo: Codable, Sendable, Equatable {
    public var name: String
    /// Lowercase hex SHA-256 of the key's canonical PEM (the model-signing key hint).
    public var hint: String
    /// `P-256`, `P-384` or `P-521`.
    public var curve: String
    /// The canonical PEM (`openssl ec -pubout` form).
    public var publicKey: String
    public var createdAt: String
    public var createdBy: String

    public init(name: String, hint: String, curve: String, publicKey: String, createdAt: String, createdBy: String) {
        self.name = name
        self.hint = hint
        self.curve = curve
        self.publicKey = publicKey
        self.createdAt = createdAt
        self.createdBy = createdBy
    }

    enum CodingKeys: String, CodingKey {
        case name, hint, curve
        case publicKey = "public_key"
        case createdAt = "created_at"
        case createdBy = "created_by"
    }
}

/// `POST /api/v1/keys`: `{"name", "public_key": PEM}`.
public struct AddTrustedKeyRequest: Codable, Sendable {
    public var name: String
    public var publicKey: String

    public init(name: String, publicKey: String) {
        self.name = name
        self.publicKey = publicKey
    }

    enum CodingKeys: String, CodingKey {
        case name
        case publicKey = "public_key"
    }
}
