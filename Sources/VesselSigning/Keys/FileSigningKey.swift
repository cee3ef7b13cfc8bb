import Crypto
import Foundation

/// An ECDSA private key read from PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1
/// (`BEGIN EC PRIVATE KEY`, as `openssl ecparam -genkey` writes, with or
/// without the preceding `EC PARAMETERS` block), on P-256, P-384 or P-521.
///
/// Immutable, hence `Sendable`; signing uses random nonces.
public struct FileSigningKey: SigningKey {
    enum Storage: Sendable {
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case p521(P521.Signing.PrivateKey)
    }

    let storage: Storage

    /// The matching public key.
    public let publicKey: VerificationKey

    /// Reads the first private-key block of `pem`.
    /// - Throws: ``KeyError/invalidPrivateKey(_:)`` when no private key can be
    ///   read; ``KeyError/encryptedPrivateKey`` for encrypted keys;
    ///   ``KeyError/unsupportedKey(_:)`` for RSA, Ed25519 or other curves.
    public init(pem: String) throws(KeyError) {
        let blocks: [PEMBlock]
        do {
            blocks = try PEMBlock.parseAll(pem)
        } catch {
            throw .invalidPrivateKey(error.detail)
        }
        if blocks.contains(where: { $0.label == "ENCRYPTED PRIVATE KEY" }) { throw .encryptedPrivateKey }
        if let other = blocks.first(where: { ["RSA PRIVATE KEY", "DSA PRIVATE KEY", "OPENSSH PRIVATE KEY"].contains($0.label) }) {
            throw .unsupportedKey("found a \(other.label) block")
        }
        guard let block = blocks.first(where: { $0.label == "PRIVATE KEY" || $0.label == "EC PRIVATE KEY" }) else {
            let labels = blocks.map(\.label).joined(separator: ", ")
            throw .invalidPrivateKey("found \(labels) but no PRIVATE KEY or EC PRIVATE KEY block")
        }
        if block.hasHeaders { throw .encryptedPrivateKey }
        try self.init(derRepresentation: block.der)
    }

    /// Reads a PEM key file.
    /// - Throws: ``KeyError/unreadableKeyFile(path:reason:)`` plus the errors of ``init(pem:)``.
    public init(contentsOfFile path: String) throws(KeyError) {
        try self.init(pem: try PEMBlock.readText(atPath: path))
    }

    /// Reads a DER PKCS#8 PrivateKeyInfo or SEC1 ECPrivateKey.
    /// - Throws: ``KeyError/unsupportedKey(_:)`` when neither form on a supported curve parses.
    public init(derRepresentation der: [UInt8]) throws(KeyError) {
        if let key = try? P256.Signing.PrivateKey(derRepresentation: der) {
            storage = .p256(key)
            publicKey = VerificationKey(storage: .p256(key.publicKey))
        } else if let key = try? P384.Signing.PrivateKey(derRepresentation: der) {
            storage = .p384(key)
            publicKey = VerificationKey(storage: .p384(key.publicKey))
        } else if let key = try? P521.Signing.PrivateKey(derRepresentation: der) {
            storage = .p521(key)
            publicKey = VerificationKey(storage: .p521(key.publicKey))
        } else {
            throw .unsupportedKey("the key is not an ECDSA P-256, P-384 or P-521 private key, or is damaged")
        }
    }

    /// Signs `message` with the curve's hash; returns DER ECDSA.
    /// - Throws: ``KeyError/signingFailed(_:)`` if the crypto backend fails.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        do {
            switch storage {
            case .p256(let key): return Array(try key.signature(for: message).derRepresentation)
            case .p384(let key): return Array(try key.signature(for: message).derRepresentation)
            case .p521(let key): return Array(try key.signature(for: message).derRepresentation)
            }
        } catch {
            throw KeyError.signingFailed("the crypto backend refused to sign: \(error)")
        }
    }
}
