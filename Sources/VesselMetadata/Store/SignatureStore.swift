import VesselCore

/// Trusted public keys and version signatures. The store keeps what the server decided; it
/// does no cryptography (the server verifies bundles before calling ``addSignature``).
///
/// A signature is `trusted` while the key that verified it at upload is still trusted under
/// the same name with the same key hint; removing the key (or replacing it under the same
/// name) makes its signatures `unverified` again.
public protocol SignatureStore: Sendable {
    /// - Throws: `invalid_argument` for a bad name; `already_exists` when the name or the key
    ///   (its hint) is already trusted.
    func addTrustedKey(name: String, hint: String, curve: String, publicKeyPEM: String, change: ChangeContext) async throws -> TrustedKeyInfo
    /// Every trusted key, by name.
    func trustedKeys() async throws -> [TrustedKeyInfo]
    /// - Throws: `not_found`.
    func removeTrustedKey(name: String, change: ChangeContext) async throws
    /// Stores a bundle for a committed version, with its audit entry and a `signature.added`
    /// event in the same transaction. `keyName` names the trusted key that verified it (the
    /// signature is `trusted` only if that key still has `keyHint` at commit), nil for an
    /// unverified one.
    /// - Throws: `not_found` for a missing or deleted version; `conflict` when the version's
    ///   digest is not `digest` (the bundle was checked against another version).
    func addSignature(model: ModelName, version: Int, digest: Digest, keyHint: String, keyName: String?, bundle: String, change: ChangeContext) async throws -> SignatureInfo
    /// A version's signatures, oldest first. - Throws: `not_found`.
    func signatures(model: ModelName, version: Int) async throws -> [SignatureInfo]
    /// The raw bundle of one signature. - Throws: `not_found`.
    func signatureBundle(model: ModelName, version: Int, id: String) async throws -> String
}
