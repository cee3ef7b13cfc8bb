import Crypto

/// Conversions between the raw `r ‖ s` signature form (PKCS#11 `CKM_ECDSA`)
/// and DER (`SEQUENCE { INTEGER r, INTEGER s }`, what model-signing stores).
enum ECDSASignatureEncoding {
    /// DER form of a raw `r ‖ s` signature of `2 × coordinateByteCount` bytes, or `nil` if the length is wrong.
    static func der(fromRaw raw: [UInt8], curve: ECCurve) -> [UInt8]? {
        switch curve {
        case .p256: (try? P256.Signing.ECDSASignature(rawRepresentation: raw)).map { Array($0.derRepresentation) }
        case .p384: (try? P384.Signing.ECDSASignature(rawRepresentation: raw)).map { Array($0.derRepresentation) }
        case .p521: (try? P521.Signing.ECDSASignature(rawRepresentation: raw)).map { Array($0.derRepresentation) }
        }
    }
}
