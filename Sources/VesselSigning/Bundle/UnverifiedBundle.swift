import VesselCore

/// What a bundle *claims*, read without checking its signature: the key hint and the
/// statement. For a registry that stores signatures by keys it may not know yet: it checks
/// that the claimed statement covers the version exactly, then tries its trusted keys with
/// ``BundleVerifier``. Nothing here is authenticated.
public struct UnverifiedBundle: Sendable {
    /// `verificationMaterial.publicKey.hint`, `nil` when absent or empty.
    public let keyHint: String?
    /// The statement as claimed; its subject digest is the root of its resources.
    public let claimedStatement: VerifiedStatement

    /// Parses `bundle` strictly, checks the payload, statement and predicate types and that
    /// the subject digest is the root digest of the listed resources.
    /// - Throws: ``VerificationError`` (malformed or unsupported bundle or statement, type
    ///   mismatches, ``VerificationError/rootDigestMismatch(subject:computed:)``).
    public init(bundle: [UInt8]) throws(VerificationError) {
        let envelope = try BundleEnvelope.parse(bundle)
        guard envelope.payloadType == BundleFormat.payloadType else {
            throw .payloadTypeMismatch(envelope.payloadType)
        }
        let statement = try StatementParser.parse(envelope.payload)
        let computed = BundleWriter.rootDigest(of: statement.resources)
        guard computed == statement.rootDigest else {
            throw .rootDigestMismatch(subject: statement.rootDigestHex, computed: Hex.encode(computed))
        }
        keyHint = envelope.hint
        claimedStatement = statement
    }
}
