/// Errors raised while reading keys or producing signatures.
public enum KeyError: SigningLibraryError, Equatable {
    /// The text is not PEM, or the PEM holds no private key block, or the key inside is damaged.
    case invalidPrivateKey(String)
    /// The text is not a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block, or the key inside is damaged.
    case invalidPublicKey(String)
    /// The key is of a kind Vessel does not sign with (RSA, Ed25519, another curve).
    case unsupportedKey(String)
    /// The private key is password-protected; Vessel reads unencrypted keys only.
    case encryptedPrivateKey
    /// The key file could not be read.
    case unreadableKeyFile(path: String, reason: String)
    /// The signing operation itself failed.
    case signingFailed(String)

    public var code: String {
        switch self {
        case .invalidPrivateKey: "invalid_private_key"
        case .invalidPublicKey: "invalid_public_key"
        case .unsupportedKey: "unsupported_key"
        case .encryptedPrivateKey: "encrypted_private_key"
        case .unreadableKeyFile: "unreadable_key_file"
        case .signingFailed: "signing_failed"
        }
    }

    public var message: String {
        switch self {
        case .invalidPrivateKey(let detail):
            "the private key is not a readable PEM ECDSA key (\(detail)); expected \"BEGIN PRIVATE KEY\" (PKCS#8) or \"BEGIN EC PRIVATE KEY\" (SEC1)"
        case .invalidPublicKey(let detail):
            "the public key is not a readable PEM \"BEGIN PUBLIC KEY\" block (\(detail)); export it with `openssl ec -in key.pem -pubout`"
        case .unsupportedKey(let detail):
            "unsupported key (\(detail)); use an ECDSA key on P-256, P-384 or P-521"
        case .encryptedPrivateKey:
            "the private key is encrypted; decrypt it first (`openssl pkey -in key.pem -out plain.pem`) or use a PKCS#11 token"
        case .unreadableKeyFile(let path, let reason):
            "cannot read key file \(path): \(reason)"
        case .signingFailed(let detail):
            "signing failed: \(detail)"
        }
    }

    public var isUnreadableInput: Bool {
        switch self {
        case .signingFailed: false
        default: true
        }
    }
}
