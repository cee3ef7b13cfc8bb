import Crypto

/// The NIST curves model-signing's key method accepts, each with the hash it signs with.
///
/// P-256 signs SHA-256, P-384 signs SHA-384 and P-521 signs SHA-512 (as
/// model-signing's `get_ec_key_hash` does).
public enum ECCurve: String, Sendable, CaseIterable {
    case p256 = "P-256"
    case p384 = "P-384"
    case p521 = "P-521"

    /// Size of one coordinate (and of `r` and `s`) in bytes.
    public var coordinateByteCount: Int {
        switch self {
        case .p256: 32
        case .p384: 48
        case .p521: 66
        }
    }

    /// Name of the message digest this curve signs with.
    public var hashName: String {
        switch self {
        case .p256: "SHA-256"
        case .p384: "SHA-384"
        case .p521: "SHA-512"
        }
    }

    /// The digest of `message` with this curve's hash, as signed by ECDSA.
    public func digest(_ message: [UInt8]) -> [UInt8] {
        switch self {
        case .p256: Array(SHA256.hash(data: message))
        case .p384: Array(SHA384.hash(data: message))
        case .p521: Array(SHA512.hash(data: message))
        }
    }

    /// DER encoding of the curve's named-curve OBJECT IDENTIFIER, as in PKCS#11 `CKA_EC_PARAMS`.
    var namedCurveDER: [UInt8] {
        switch self {
        // 1.2.840.10045.3.1.7 (prime256v1)
        case .p256: [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
        // 1.3.132.0.34 (secp384r1)
        case .p384: [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22]
        // 1.3.132.0.35 (secp521r1)
        case .p521: [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23]
        }
    }

    /// The curve whose named-curve OID has this DER encoding, if supported.
    init?(namedCurveDER der: [UInt8]) {
        guard let curve = ECCurve.allCases.first(where: { $0.namedCurveDER == der }) else { return nil }
        self = curve
    }
}
