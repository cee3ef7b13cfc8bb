import VesselCore
import VesselSigning

/// Verify-before-load: a version may be downloaded only when one of its signatures verifies
/// with a key the client trusts and binds exactly this content.
///
/// For each signature whose key hint matches a given key (every key when it has no hint):
/// the bundle's signature must verify, its root digest must equal the version digest, and its
/// resources must equal the manifest (paths and digests, in order). Every downloaded byte is
/// then checked against the manifest digests, which are thereby bound to the signed statement.
public enum SignatureGate {
    /// - Returns: the signature that verified.
    /// - Throws: `not_verified` listing why each signature was refused.
    public static func verify(_ version: VersionInfo, manifest: Manifest, keys: [VerificationKey], api: APIClient) async throws -> SignatureInfo {
        let name = "\(version.model):\(version.version)"
        let signatures = try await api.signatures(version.model, version: version.version)
        guard !signatures.isEmpty else {
            throw VesselError.notVerified("\(name) has no signatures, so it cannot be verified with the given key(s); sign it (`vessel sign --model \(name)`) or pull without --verify-key")
        }
        var reasons: [String] = []
        for signature in signatures {
            let candidates = signature.keyHint.isEmpty ? keys : keys.filter { $0.hint == signature.keyHint }
            guard !candidates.isEmpty else {
                reasons.append("signature \(signature.id): made with another key (key hint \(signature.keyHint))")
                continue
            }
            let bundle = try await api.signatureBundle(version.model, version: version.version, id: signature.id)
            for key in candidates {
                do {
                    let statement = try BundleVerifier(publicKey: key).verify(bundle: bundle)
                    if let problem = mismatch(statement, version: version, manifest: manifest) {
                        reasons.append("signature \(signature.id): \(problem)")
                        continue
                    }
                    return signature
                } catch {
                    reasons.append("signature \(signature.id): \(error.code): \(error.message)")
                }
            }
        }
        let summary = reasons.count == 1 ? reasons[0] : "\(reasons.count) signatures refused; first: \(reasons[0])"
        throw VesselError(.notVerified, "no signature of \(name) verifies with the given key(s) (\(summary)); nothing was downloaded", details: reasons)
    }

    /// Why a verified statement does not bind `version`, or nil when it does.
    static func mismatch(_ statement: VerifiedStatement, version: VersionInfo, manifest: Manifest) -> String? {
        let root = Digest(bytes: statement.rootDigest)
        if root != version.digest {
            return "it signs root digest \(root), not the version digest \(version.digest)"
        }
        if statement.resources != manifest.signedResources {
            return "its files differ from the version's manifest"
        }
        return nil
    }
}
