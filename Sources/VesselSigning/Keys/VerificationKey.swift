import VesselCore
import Crypto
import Foundation

/// An ECDSA public key (P-256, P-384 or P-521) that checks model signatures.
///
/// Two keys are equal when their SubjectPublicKeyInfo DER encodings are equal.
public struct VerificationKey: Sendable, Equatable {
    enum Storage: Sendable {
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
    }

    let storage: Storage

    /// The curve of this key, which also fixes the signature hash.
    public var curve: ECCurve {
        switch storage {
        case .p256: .p256
        case .p384: .p384
        case .p521: .p521
        }
    }

    init(storage: Storage) {
        self.storage = storage
    }

    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block, as written by `openssl ec -pubout`.
    ///
    /// Other blocks in the text (e.g. `EC PARAMETERS`) are ignored.
    /// - Throws: ``KeyError/invalidPublicKey(_:)`` when there is no readable
    ///   `PUBLIC KEY` block; ``KeyError/unsupportedKey(_:)`` when it holds a key
    ///   that is not ECDSA on a supported curve.
    public init(pem: String) throws(KeyError) {
        let blocks: [PEMBlock]
        do {
            blocks = try PEMBlock.parseAll(pem)
        } catch {
            throw .invalidPublicKey(error.detail)
        }
        guard let block = blocks.first(where: { $0.label == "PUBLIC KEY" }) else {
            let labels = blocks.map(\.label).joined(separator: ", ")
            throw .invalidPublicKey("found \(labels) but no PUBLIC KEY block")
        }
        try self.init(derRepresentation: block.der)
    }

    /// Reads a PEM public key file (see ``init(pem:)``).
    /// - Throws: ``KeyError/unreadableKeyFile(path:reason:)`` plus the errors of ``init(pem:)``.
    public init(contentsOfFile path: String) throws(KeyError) {
        try self.init(pem: try PEMBlock.readText(atPath: path))
    }

    /// Reads a DER SubjectPublicKeyInfo.
    /// - Throws: ``KeyError/unsupportedKey(_:)`` or ``KeyError/invalidPublicKey(_:)``.
    public init(derRepresentation der: [UInt8]) throws(KeyError) {
        if let key = try? P256.Signing.PublicKey(derRepresentation: der) {
            self.init(storage: .p256(key))
        } else if let key = try? P384.Signing.PublicKey(derRepresentation: der) {
            self.init(storage: .p384(key))
        } else if let key = try? P521.Signing.PublicKey(derRepresentation: der) {
            self.init(storage: .p521(key))
        } else {
            throw .unsupportedKey("the SubjectPublicKeyInfo is not an ECDSA key on P-256, P-384 or P-521, or is damaged")
        }
    }

    /// Builds a key from an uncompressed point `04 ‖ X ‖ Y` on `curve` (e.g. PKCS#11 `CKA_EC_POINT` content).
    /// - Throws: ``KeyError/invalidPublicKey(_:)`` when the bytes are not a point on the curve.
    public init(curve: ECCurve, x963Representation point: [UInt8]) throws(KeyError) {
        do {
            switch curve {
            case .p256: self.init(storage: .p256(try P256.Signing.PublicKey(x963Representation: point)))
            case .p384: self.init(storage: .p384(try P384.Signing.PublicKey(x963Representation: point)))
            case .p521: self.init(storage: .p521(try P521.Signing.PublicKey(x963Representation: point)))
            }
        } catch {
            throw .invalidPublicKey("not an uncompressed \(curve.rawValue) point")
        }
    }

    /// DER SubjectPublicKeyInfo.
    public var derRepresentation: [UInt8] {
        switch storage {
        case .p256(let key): Array(key.derRepresentation)
        case .p384(let key): Array(key.derRepresentation)
        case .p521(let key): Array(key.derRepresentation)
        }
    }

    /// The PEM text exactly as `openssl ec -pubout` writes it: `PUBLIC KEY`
    /// label, 64-column base64, trailing newline. Rendered from the key, never
    /// copied from a user's file.
    public var pemRepresentation: String {
        PEMBlock.render(label: "PUBLIC KEY", der: derRepresentation)
    }

    /// The model-signing key hint: lowercase hex SHA-256 of ``pemRepresentation``.
    public var hint: String {
        Hex.encode(Array(SHA256.hash(data: Array(pemRepresentation.utf8))))
    }

    /// Whether `signature` (DER ECDSA) is valid for `message` hashed with the curve's hash.
    /// Returns `false` for a malformed signature as well.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        switch storage {
        case .p256(let key):
            guard let sig = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: message)
        case .p384(let key):
            guard let sig = try? P384.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: message)
        case .p521(let key):
            guard let sig = try? P521.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: message)
        }
    }

    /// Whether `signature` parses as a DER ECDSA signature for this curve (says nothing about validity).
    func isWellFormedSignature(_ signature: [UInt8]) -> Bool {
        switch storage {
        case .p256: (try? P256.Signing.ECDSASignature(derRepresentation: signature)) != nil
        case .p384: (try? P384.Signing.ECDSASignature(derRepresentation: signature)) != nil
        case .p521: (try? P521.Signing.ECDSASignature(derRepresentation: signature)) != nil
        }
    }

    public static func == (lhs: VerificationKey, rhs: VerificationKey) -> Bool {
        lhs.derRepresentation == rhs.derRepresentation
    }
}
