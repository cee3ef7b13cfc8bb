import VesselCore

/// Why a bundle, or a model folder checked against it, was not verified.
///
/// ``isUnreadableInput`` (exit code 2) is `true` for a bundle that cannot be
/// read or is not a model-signing key bundle; everything else is a negative
/// verdict (exit code 1).
public enum VerificationError: SigningLibraryError, Equatable {
    /// The bundle is not valid JSON, is too large, or lacks required fields. (exit 2)
    case malformedBundle(String)
    /// A well-formed bundle of a kind Vessel does not verify (other media type,
    /// certificate material, several signatures). (exit 2)
    case unsupportedBundle(String)
    /// The signed statement is not valid JSON or lacks required fields. (exit 2)
    case malformedStatement(String)
    /// The statement uses a serialization other than `files`/`sha256`. (exit 2)
    case unsupportedSerialization(String)
    /// The bundle's key hint names a different public key. (exit 1)
    case keyHintMismatch(bundleHint: String, keyHint: String)
    /// The signature does not verify with the given key (malformed signature, or
    /// no hint to tell a wrong key from tampering). (exit 1)
    case signatureInvalid(String)
    /// The hint confirms the key, yet the signature does not match the payload:
    /// the payload or signature changed after signing. (exit 1)
    case payloadTampered
    /// The DSSE payload type is not the in-toto JSON type. (exit 1)
    case payloadTypeMismatch(String)
    /// The statement's `_type` is not in-toto Statement v1. (exit 1)
    case statementTypeMismatch(String)
    /// The predicate type is not model-signing v1.0. (exit 1)
    case predicateTypeMismatch(String)
    /// The subject digest is not the root digest of the listed resources. (exit 1)
    case rootDigestMismatch(subject: String, computed: String)
    /// A signed file's content differs. (exit 1)
    case fileChanged(path: String, signed: String, actual: String)
    /// A signed file is absent from the model. (exit 1)
    case fileMissing(path: String)
    /// The model has a file the signature does not list. (exit 1)
    case fileExtra(path: String)

    public var code: String {
        switch self {
        case .malformedBundle: "malformed_bundle"
        case .unsupportedBundle: "unsupported_bundle"
        case .malformedStatement: "malformed_statement"
        case .unsupportedSerialization: "unsupported_serialization"
        case .keyHintMismatch: "key_hint_mismatch"
        case .signatureInvalid: "signature_invalid"
        case .payloadTampered: "payload_tampered"
        case .payloadTypeMismatch: "payload_type_mismatch"
        case .statementTypeMismatch: "statement_type_mismatch"
        case .predicateTypeMismatch: "predicate_type_mismatch"
        case .rootDigestMismatch: "root_digest_mismatch"
        case .fileChanged: "file_changed"
        case .fileMissing: "file_missing"
        case .fileExtra: "file_extra"
        }
    }

    public var message: String {
        switch self {
        case .malformedBundle(let detail):
            "the signature file is not a readable model-signing bundle: \(detail)"
        case .unsupportedBundle(let detail):
            "the signature file is a kind of bundle Vessel does not verify: \(detail)"
        case .malformedStatement(let detail):
            "the signed statement is not a readable model-signing statement: \(detail)"
        case .unsupportedSerialization(let detail):
            "the signature uses an unsupported serialization: \(detail); re-sign with per-file SHA-256 (model_signing's default)"
        case .keyHintMismatch(let bundleHint, let keyHint):
            "the signature was made with a different key (bundle key hint \(bundleHint), given public key \(keyHint)); check that you passed the right public key"
        case .signatureInvalid(let detail):
            "the signature does not verify with the given public key: \(detail)"
        case .payloadTampered:
            "the signature does not match the signed statement although the key matches: the statement or the signature was altered after signing"
        case .payloadTypeMismatch(let found):
            "the envelope's payload type is \(JSONText.quoted(found)), expected \(BundleFormat.payloadType)"
        case .statementTypeMismatch(let found):
            "the statement type is \(JSONText.quoted(found)), expected \(BundleFormat.statementType)"
        case .predicateTypeMismatch(let found):
            "the predicate type is \(JSONText.quoted(found)), expected \(BundleFormat.predicateType)"
        case .rootDigestMismatch(let subject, let computed):
            "the statement is inconsistent: its subject digest is \(subject) but its resources hash to \(computed)"
        case .fileChanged(let path, let signed, let actual):
            "file \(JSONText.quoted(path)) changed: signed sha256 \(signed), found sha256 \(actual)"
        case .fileMissing(let path):
            "file \(JSONText.quoted(path)) is in the signature but missing from the model"
        case .fileExtra(let path):
            "file \(JSONText.quoted(path)) is in the model but not in the signature"
        }
    }

    public var isUnreadableInput: Bool {
        switch self {
        case .malformedBundle, .unsupportedBundle, .malformedStatement, .unsupportedSerialization: true
        default: false
        }
    }

    /// The file path a `file_*` error is about, else `nil`.
    public var path: String? {
        switch self {
        case .fileChanged(let path, _, _), .fileMissing(let path), .fileExtra(let path): path
        default: nil
        }
    }
}
