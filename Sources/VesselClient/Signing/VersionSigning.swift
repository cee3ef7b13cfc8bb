import VesselCore
import VesselSigning

/// Signs a version already in the registry: a model-signing bundle whose subject is the model
/// name (`owner/name`), whose root digest is the version digest and whose resources are the
/// version's manifest, attached with `POST …/versions/:version/signatures`.
///
/// The bundle records `.vessel.json` in `ignore_paths`, so `model_signing verify key` also
/// accepts a folder made by `vessel pull` (which holds that marker).
public enum VersionSigning {
    /// The bundle for `version` (which must carry its manifest).
    /// - Throws: `digest_mismatch` when the manifest does not hash to the version digest; the
    ///   key's error when signing fails.
    public static func bundle(for version: VersionInfo, key: any SigningKey) throws -> [UInt8] {
        let manifest = try Manifest(entries: version.manifest ?? [])
        guard RootDigest.of(manifest) == version.digest else {
            throw VesselError(.digestMismatch, "the server's manifest of \(version.model):\(version.version) does not hash to its digest \(version.digest); refusing to sign it")
        }
        return try BundleWriter(key: key).makeBundle(
            subjectName: version.model.description,
            resources: manifest.signedResources,
            additionalIgnorePaths: [ManifestPath.pullMarker]
        )
    }

    /// Resolves `reference`, signs that version and attaches the signature.
    public static func sign(_ reference: Reference, key: any SigningKey, api: APIClient) async throws -> (version: VersionInfo, signature: SignatureInfo, bundle: [UInt8]) {
        let version = try await api.resolve(reference)
        let bundle = try bundle(for: version, key: key)
        let signature = try await api.addSignature(version.model, version: version.version, bundle: bundle)
        return (version, signature, bundle)
    }
}
