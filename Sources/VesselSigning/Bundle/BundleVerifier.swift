import VesselCore
import Foundation

/// Verifies model-signing key-method bundles (as written by PyPI
/// `model-signing` 1.1.1 `sign key` or by ``BundleWriter``) and checks a model's
/// files against a verified statement.
///
/// Order of checks, from cheapest and least trusted to most: strict bundle
/// parsing → key hint → payload type → ECDSA signature over the DSSE
/// pre-authentication encoding of the payload bytes exactly as they are in the
/// bundle (never re-serialised) → statement parsing → statement and predicate
/// types → subject root digest against the listed resources.
///
/// Not supported, refused with ``VerificationError/unsupportedBundle(_:)`` or
/// ``VerificationError/predicateTypeMismatch(_:)``: certificate and Sigstore
/// bundles, bundles with more than one signature, the pre-1.0 predicate
/// `https://model_signing/Digests/v0.1`, and pre-1.0 "compat" signatures.
public struct BundleVerifier: Sendable {
    /// The key the bundle must be signed with.
    public let publicKey: VerificationKey

    public init(publicKey: VerificationKey) {
        self.publicKey = publicKey
    }

    /// Verifies `bundle` (the signature file's bytes) and returns its statement.
    ///
    /// Passing this only proves who signed which digests; call
    /// ``compare(_:with:)`` with the model's actual files before trusting them.
    /// - Throws: ``VerificationError``; see each case for its exit-code class.
    public func verify(bundle: [UInt8]) throws(VerificationError) -> VerifiedStatement {
        let envelope = try BundleEnvelope.parse(bundle)
        if let bundleHint = envelope.hint, bundleHint != publicKey.hint {
            throw .keyHintMismatch(bundleHint: bundleHint, keyHint: publicKey.hint)
        }
        guard envelope.payloadType == BundleFormat.payloadType else {
            throw .payloadTypeMismatch(envelope.payloadType)
        }
        let pae = DSSE.preAuthenticationEncoding(payloadType: envelope.payloadType, payload: envelope.payload)
        guard publicKey.isValidSignature(envelope.signature, for: pae) else {
            if !publicKey.isWellFormedSignature(envelope.signature) {
                throw .signatureInvalid("the signature is not a DER ECDSA signature for a \(publicKey.curve.rawValue) key")
            }
            if envelope.hint != nil { throw .payloadTampered }
            throw .signatureInvalid("wrong public key, or the statement or signature was altered after signing")
        }
        let statement = try StatementParser.parse(envelope.payload)
        let computed = BundleWriter.rootDigest(of: statement.resources)
        guard computed == statement.rootDigest else {
            throw .rootDigestMismatch(subject: statement.rootDigestHex, computed: Hex.encode(computed))
        }
        return statement
    }

    /// Reads and verifies the bundle at `path`.
    /// - Throws: ``VerificationError/malformedBundle(_:)`` when the file cannot be
    ///   read or exceeds ``BundleFormat/maxBundleBytes``, else as ``verify(bundle:)``.
    public func verify(bundleAtPath path: String) throws(VerificationError) -> VerifiedStatement {
        let bytes: [UInt8]
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            let data = try handle.read(upToCount: BundleFormat.maxBundleBytes + 1) ?? Data()
            bytes = Array(data)
        } catch {
            throw .malformedBundle("cannot read \(path): \(error.localizedDescription)")
        }
        guard bytes.count <= BundleFormat.maxBundleBytes else {
            throw .malformedBundle("the file is larger than \(BundleFormat.maxBundleBytes) bytes")
        }
        return try verify(bundle: bytes)
    }

    /// Compares a verified statement with the model's actual files.
    ///
    /// Actual files at or below one of the statement's `ignore_paths` are left
    /// out, as model-signing does. Paths are compared exactly (bytes, no
    /// Unicode normalisation).
    /// - Returns: one ``VerificationError/fileChanged(path:signed:actual:)``,
    ///   ``VerificationError/fileMissing(path:)`` or ``VerificationError/fileExtra(path:)``
    ///   per differing file, in model-signing path order; empty when the files match.
    public static func compare(_ statement: VerifiedStatement, with actualResources: [SignedResource]) -> [VerificationError] {
        var signed: [String: [UInt8]] = [:]
        for resource in statement.resources {
            signed[resource.path] = resource.sha256
        }
        var actual: [String: [UInt8]] = [:]
        for resource in actualResources
        where !statement.ignorePaths.contains(where: { ResourcePath.isCovered(resource.path, by: $0) }) {
            actual[resource.path] = resource.sha256
        }
        let allPaths = Set(signed.keys).union(actual.keys).sorted(by: SignedResource.precedesInModelSigningOrder)
        var differences: [VerificationError] = []
        for path in allPaths {
            switch (signed[path], actual[path]) {
            case (let expected?, let found?) where expected != found:
                differences.append(.fileChanged(path: path, signed: Hex.encode(expected), actual: Hex.encode(found)))
            case (_?, nil):
                differences.append(.fileMissing(path: path))
            case (nil, _?):
                differences.append(.fileExtra(path: path))
            default:
                break
            }
        }
        return differences
    }
}
