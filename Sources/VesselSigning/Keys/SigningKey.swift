/// Something that produces model-signing ECDSA signatures: a key file, a PKCS#11 token, …
///
/// Contract:
/// - ``sign(_:)`` hashes `message` with the curve's hash (SHA-256 for P-256,
///   SHA-384 for P-384, SHA-512 for P-521) and returns the ECDSA signature in
///   DER (`SEQUENCE { r INTEGER, s INTEGER }`), which ``publicKey`` verifies.
/// - ``publicKey`` is fixed for the lifetime of the value.
/// - Implementations are safe to call from any thread; they may serialise calls.
public protocol SigningKey: Sendable {
    /// The public half, used for the bundle's key hint.
    var publicKey: VerificationKey { get }

    /// Signs `message` (not a digest: the implementation hashes it).
    /// - Returns: DER-encoded ECDSA signature.
    /// - Throws: an error conforming to ``SigningLibraryError`` when signing fails.
    func sign(_ message: [UInt8]) throws -> [UInt8]
}
