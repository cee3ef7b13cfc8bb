import VesselCore
import VesselSigning

/// Decides whether a model-signing bundle may be attached to a version, and how it is
/// recorded.
///
/// Accepted only when its claimed statement covers the version exactly: the same paths with
/// the same digests (the version's manifest) and a root digest equal to the version digest.
/// Then the trusted keys are tried: the one whose hint the bundle names (every key when the
/// bundle names none). A key that verifies makes the signature `trusted`; a bundle naming a
/// trusted key that does not verify with it was altered and is refused; a bundle of an
/// unknown key is kept as `unverified`.
struct SignatureAdmission {
    struct Verdict: Equatable {
        var keyHint: String
        /// The trusted key that verified the bundle, nil when none did.
        var keyName: String?
    }

    /// - Throws: `invalid_argument` for a body that is not a model-signing key bundle;
    ///   `not_verified` for a bundle that does not cover `version` or that names a trusted key
    ///   it does not verify with.
    static func admit(bundle: [UInt8], version: VersionInfo, trustedKeys: [TrustedKeyInfo]) throws(VesselError) -> Verdict {
        let claimed: UnverifiedBundle
        do {
            claimed = try UnverifiedBundle(bundle: bundle)
        } catch {
            if error.isUnreadableInput { throw .invalidArgument("the body is not a model-signing bundle: \(error.message)") }
            throw .notVerified("the signature was not accepted: \(error.message)")
        }
        let manifest = version.manifest ?? []
        try checkCoverage(claimed.claimedStatement.resources, manifest: manifest, version: version)
        let root = Digest(bytes: claimed.claimedStatement.rootDigest)
        guard root == version.digest else {
            throw .notVerified("the signature's root digest \(root) is not the digest of \(version.model):\(version.version) (\(version.digest)); it signs other content")
        }
        let hint = claimed.keyHint
        let candidates = hint.map { hint in trustedKeys.filter { $0.hint == hint } } ?? trustedKeys
        for key in candidates {
            guard let publicKey = try? VerificationKey(pem: key.publicKey) else { continue }
            do {
                _ = try BundleVerifier(publicKey: publicKey).verify(bundle: bundle)
                return Verdict(keyHint: hint ?? "", keyName: key.name)
            } catch {
                if hint != nil {
                    throw .notVerified("the signature names trusted key '\(key.name)' but does not verify with it (\(error.code)): \(error.message)")
                }
            }
        }
        return Verdict(keyHint: hint ?? "", keyName: nil)
    }

    /// The statement's resources must be the manifest: same paths, same digests, same order.
    static func checkCoverage(_ resources: [SignedResource], manifest: [ManifestEntry], version: VersionInfo) throws(VesselError) {
        let expected = manifest.map { SignedResource(path: $0.path, sha256: $0.digest.bytes) }
        guard resources != expected else { return }
        let name = "\(version.model):\(version.version)"
        let signed = Dictionary(resources.map { ($0.path, $0.sha256) }, uniquingKeysWith: { first, _ in first })
        let held = Dictionary(expected.map { ($0.path, $0.sha256) }, uniquingKeysWith: { first, _ in first })
        var problems: [String] = []
        for entry in expected {
            switch signed[entry.path] {
            case nil: problems.append("file '\(entry.path)' of \(name) is not in the signature")
            case let digest? where digest != entry.sha256: problems.append("the signature's digest of '\(entry.path)' differs from the version's")
            default: break
            }
        }
        for resource in resources where held[resource.path] == nil {
            problems.append("the signature lists '\(resource.path)', which \(name) does not hold")
        }
        if problems.isEmpty { problems.append("the signature lists the files in another order than the version") }
        let more = problems.count > 1 ? " (and \(problems.count - 1) more difference(s))" : ""
        throw VesselError(.notVerified, "the signature does not cover \(name) exactly: \(problems[0])\(more)", details: Array(problems.prefix(100)))
    }
}
