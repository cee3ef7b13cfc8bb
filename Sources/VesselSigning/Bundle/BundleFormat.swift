import VesselCore

/// Constants of the OpenSSF model-signing ("OMS") bundle, key method, as
/// written and read by PyPI `model-signing` 1.1.1.
public enum BundleFormat {
    /// Sigstore bundle media type.
    public static let mediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
    /// DSSE payload type of the in-toto statement.
    public static let payloadType = "application/vnd.in-toto+json"
    /// in-toto statement type.
    public static let statementType = "https://in-toto.io/Statement/v1"
    /// model-signing predicate type (v1.0).
    public static let predicateType = "https://model_signing/signature/v1.0"
    /// Paths model-signing always ignores and records in `ignore_paths`, in its order; the
    /// list is defined once, as `ManifestPath.modelSigningIgnoredNames`.
    public static let defaultIgnorePaths = ManifestPath.modelSigningIgnoredNames

    /// Largest bundle file read, in bytes (a 100,000-file model's bundle is ~40 MB).
    public static let maxBundleBytes = 256 * 1024 * 1024
    /// Deepest JSON nesting accepted in a bundle or statement.
    static let maxJSONDepth = 32
}
