import VesselCore
import Crypto
import Foundation

/// Writes model-signing key-method bundles (Sigstore bundle v0.3 with a DSSE
/// envelope around an in-toto Statement v1), interoperable with PyPI
/// `model-signing` 1.1.1: `model_signing verify key` accepts what this writes.
///
/// The bundle layout matches model-signing's byte for byte in its outer
/// structure (`mediaType`, `verificationMaterial {publicKey {hint}, tlogEntries []}`,
/// `dsseEnvelope {payload, payloadType, signatures [{sig, keyid ""}]}`); the
/// payload is pretty-printed JSON with a fixed key order.
public struct BundleWriter: Sendable {
    /// The key that signs.
    public let key: any SigningKey

    /// - Parameter key: signs the DSSE pre-authentication encoding of the statement.
    public init(key: any SigningKey) {
        self.key = key
    }

    /// SHA-256 over the raw 32-byte file digests concatenated in the given order.
    ///
    /// The order matters: a bundle lists resources in model-signing order
    /// (``SignedResource/precedesInModelSigningOrder(_:_:)``).
    public static func rootDigest(of resources: [SignedResource]) -> [UInt8] {
        var hasher = SHA256()
        for resource in resources {
            hasher.update(data: resource.sha256)
        }
        return Array(hasher.finalize())
    }

    /// Signs `resources` and returns the bundle file's bytes (UTF-8 JSON, no trailing newline).
    ///
    /// Resources may come in any order; they are sorted into model-signing
    /// order, so the subject digest equals the one `model_signing` computes for
    /// the same files.
    /// - Parameters:
    ///   - subjectName: the statement subject name (model-signing uses the model folder's name).
    ///   - resources: every regular file of the model, with its SHA-256.
    ///   - additionalIgnorePaths: relative paths recorded in `ignore_paths` next to
    ///     the default git paths, e.g. the signature file's own path when it is
    ///     written inside the model folder (model-signing does the same), so that
    ///     `model_signing verify` skips it.
    /// - Throws: ``BundleWriterError`` for an invalid path or digest, or a
    ///   duplicate path; the key's error (``KeyError``, ``PKCS11Error``) when signing fails.
    public func makeBundle(
        subjectName: String,
        resources: [SignedResource],
        additionalIgnorePaths: [String] = []
    ) throws -> [UInt8] {
        let sorted = try Self.validatedAndSorted(resources)
        for path in additionalIgnorePaths {
            if let problem = ResourcePath.problem(with: path) {
                throw BundleWriterError.invalidIgnorePath(path: path, reason: problem)
            }
        }
        var ignorePaths = BundleFormat.defaultIgnorePaths
        for path in additionalIgnorePaths.sorted(by: SignedResource.precedesInModelSigningOrder)
        where !ignorePaths.contains(path) {
            ignorePaths.append(path)
        }
        let payload = Self.statementPayload(subjectName: subjectName, resources: sorted, ignorePaths: ignorePaths)
        let pae = DSSE.preAuthenticationEncoding(payloadType: BundleFormat.payloadType, payload: payload)
        let signature = try key.sign(pae)
        return Self.bundleJSON(payload: payload, signature: signature, hint: key.publicKey.hint)
    }

    static func validatedAndSorted(_ resources: [SignedResource]) throws(BundleWriterError) -> [SignedResource] {
        for resource in resources {
            if let problem = ResourcePath.problem(with: resource.path) {
                throw .invalidResource(path: resource.path, reason: problem)
            }
            guard resource.sha256.count == 32 else {
                throw .invalidResource(path: resource.path, reason: "the SHA-256 digest has \(resource.sha256.count) bytes, expected 32")
            }
        }
        let sorted = SignedResource.sortedInModelSigningOrder(resources)
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.path == next.path {
            throw .duplicateResource(path: next.path)
        }
        return sorted
    }

    /// The in-toto statement, pretty-printed with two-space indentation.
    static func statementPayload(subjectName: String, resources: [SignedResource], ignorePaths: [String]) -> [UInt8] {
        let root = Hex.encode(rootDigest(of: resources))
        var text = """
            {
              "_type": \(JSONText.quoted(BundleFormat.statementType)),
              "subject": [
                {
                  "name": \(JSONText.quoted(subjectName)),
                  "digest": {
                    "sha256": "\(root)"
                  }
                }
              ],
              "predicateType": \(JSONText.quoted(BundleFormat.predicateType)),
              "predicate": {
                "serialization": {
                  "method": "files",
                  "hash_type": "sha256",
                  "allow_symlinks": false,
                  "ignore_paths": [
            """
        text += ignorePaths.map { "\n        " + JSONText.quoted($0) }.joined(separator: ",")
        text += "\n      ]\n    },\n    \"resources\": ["
        text += resources.map { resource in
            "\n      {\n        \"name\": \(JSONText.quoted(resource.path)),\n        \"algorithm\": \"sha256\",\n        \"digest\": \"\(Hex.encode(resource.sha256))\"\n      }"
        }.joined(separator: ",")
        text += resources.isEmpty ? "]\n  }\n}" : "\n    ]\n  }\n}"
        return Array(text.utf8)
    }

    /// The outer bundle, compact, in model-signing's key order.
    static func bundleJSON(payload: [UInt8], signature: [UInt8], hint: String) -> [UInt8] {
        let text = "{\"mediaType\":\(JSONText.quoted(BundleFormat.mediaType)),"
            + "\"verificationMaterial\":{\"publicKey\":{\"hint\":\"\(hint)\"},\"tlogEntries\":[]},"
            + "\"dsseEnvelope\":{\"payload\":\"\(Data(payload).base64EncodedString())\","
            + "\"payloadType\":\(JSONText.quoted(BundleFormat.payloadType)),"
            + "\"signatures\":[{\"sig\":\"\(Data(signature).base64EncodedString())\",\"keyid\":\"\"}]}}"
        return Array(text.utf8)
    }
}
