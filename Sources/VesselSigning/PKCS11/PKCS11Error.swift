import VesselCore
import CPKCS11

/// Errors from signing with a PKCS#11 token.
///
/// Configuration problems (module, token or key not found, unusable key) are
/// ``isUnreadableInput`` (exit code 2); a wrong PIN, a failing call or a token
/// whose public object does not match its private key are not. A CLI may map
/// ``pinIncorrect`` to its "not authenticated" code instead.
public enum PKCS11Error: SigningLibraryError, Equatable {
    /// The module could not be loaded or has no `C_GetFunctionList`.
    case moduleUnavailable(path: String, reason: String)
    /// A Cryptoki call returned an error code.
    case callFailed(function: String, returnValue: UInt)
    /// No slot holds a token with this label.
    case tokenNotFound(label: String)
    /// The token refused the PIN (wrong, locked or of invalid length).
    case pinIncorrect(returnValue: UInt)
    /// No private key object with this `CKA_LABEL`.
    case keyNotFound(label: String)
    /// More than one object of the same class carries this label.
    case ambiguousKey(label: String, count: Int)
    /// No public key object with the private key's label, so the key hint cannot be built.
    case publicKeyNotFound(label: String)
    /// The token's key is not ECDSA on P-256, P-384 or P-521, or its attributes are unreadable.
    case unsupportedKey(String)
    /// The signature the token produced does not verify with the public key read from it.
    case publicKeyMismatch(label: String)
    /// ``PKCS11SigningKey/close()`` was called before signing.
    case closed

    public var code: String {
        switch self {
        case .moduleUnavailable: "pkcs11_module_unavailable"
        case .callFailed: "pkcs11_call_failed"
        case .tokenNotFound: "token_not_found"
        case .pinIncorrect: "pin_incorrect"
        case .keyNotFound: "key_not_found"
        case .ambiguousKey: "ambiguous_key"
        case .publicKeyNotFound: "public_key_not_found"
        case .unsupportedKey: "unsupported_key"
        case .publicKeyMismatch: "public_key_mismatch"
        case .closed: "session_closed"
        }
    }

    public var message: String {
        switch self {
        case .moduleUnavailable(let path, let reason):
            "cannot load PKCS#11 module \(path): \(reason)"
        case .callFailed(let function, let rv):
            "PKCS#11 \(function) failed with \(PKCS11Error.name(of: rv))"
        case .tokenNotFound(let label):
            "no PKCS#11 token labelled \(JSONText.quoted(label)); list tokens with `pkcs11-tool --module … --list-token-slots`"
        case .pinIncorrect(let rv):
            "the token refused the PIN (\(PKCS11Error.name(of: rv)))"
        case .keyNotFound(let label):
            "the token has no private key labelled \(JSONText.quoted(label))"
        case .ambiguousKey(let label, let count):
            "the token has \(count) keys labelled \(JSONText.quoted(label)); give each key a unique label"
        case .publicKeyNotFound(let label):
            "the token has no public key object labelled \(JSONText.quoted(label)); import the public key next to the private key"
        case .unsupportedKey(let detail):
            "the token key cannot be used: \(detail)"
        case .publicKeyMismatch(let label):
            "the public key object labelled \(JSONText.quoted(label)) does not match its private key"
        case .closed:
            "the PKCS#11 key was closed"
        }
    }

    public var isUnreadableInput: Bool {
        switch self {
        case .moduleUnavailable, .tokenNotFound, .keyNotFound, .ambiguousKey, .publicKeyNotFound, .unsupportedKey: true
        case .callFailed, .pinIncorrect, .publicKeyMismatch, .closed: false
        }
    }

    /// `CKR_…` name of a return value where known, else hex.
    static func name(of rv: UInt) -> String {
        let names: [UInt: String] = [
            0x0: "CKR_OK", 0x5: "CKR_GENERAL_ERROR", 0x6: "CKR_FUNCTION_FAILED", 0x7: "CKR_ARGUMENTS_BAD",
            0x30: "CKR_DEVICE_ERROR", 0x32: "CKR_DEVICE_REMOVED", 0x60: "CKR_KEY_HANDLE_INVALID",
            0x68: "CKR_KEY_FUNCTION_NOT_PERMITTED", 0x70: "CKR_MECHANISM_INVALID", 0x82: "CKR_OBJECT_HANDLE_INVALID",
            0x90: "CKR_OPERATION_ACTIVE", 0xA0: "CKR_PIN_INCORRECT", 0xA1: "CKR_PIN_INVALID",
            0xA2: "CKR_PIN_LEN_RANGE", 0xA4: "CKR_PIN_LOCKED", 0xB3: "CKR_SESSION_HANDLE_INVALID",
            0xE0: "CKR_TOKEN_NOT_PRESENT", 0x100: "CKR_USER_ALREADY_LOGGED_IN", 0x101: "CKR_USER_NOT_LOGGED_IN",
            0x102: "CKR_USER_PIN_NOT_INITIALIZED", 0x150: "CKR_BUFFER_TOO_SMALL",
            0x190: "CKR_CRYPTOKI_NOT_INITIALIZED", 0x191: "CKR_CRYPTOKI_ALREADY_INITIALIZED",
        ]
        return names[rv] ?? "0x" + String(rv, radix: 16)
    }
}
