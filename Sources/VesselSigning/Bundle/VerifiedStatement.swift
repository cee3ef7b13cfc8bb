import VesselCore

/// The content of a bundle whose signature, types and root digest checked out.
public struct VerifiedStatement: Sendable, Equatable {
    /// The subject name (model-signing uses the model folder's name; informative only).
    public let subjectName: String
    /// The subject's root digest: SHA-256 over the 32-byte file digests in resource order.
    public let rootDigest: [UInt8]
    /// The signed files in the order the statement lists them.
    public let resources: [SignedResource]
    /// `predicate.serialization.ignore_paths`: paths (relative to the model
    /// folder) that the signer excluded; files at or below them are not compared.
    public let ignorePaths: [String]
    /// `predicate.serialization.allow_symlinks` as signed.
    public let allowSymlinks: Bool

    /// Lowercase hex of ``rootDigest``.
    public var rootDigestHex: String { Hex.encode(rootDigest) }
}
