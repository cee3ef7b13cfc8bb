import CPKCS11
import Synchronization

/// An ECDSA key held on a PKCS#11 token (an HSM, a smart card, SoftHSM).
///
/// The private key never leaves the token: Vessel computes the digest (SHA-256
/// for P-256, SHA-384 for P-384, SHA-512 for P-521) and the token signs it with
/// `CKM_ECDSA`; the raw `r ‖ s` result is converted to DER and checked against
/// the public key before it is returned. The public key, needed for the bundle's
/// key hint, is read from the public key object that carries the same
/// `CKA_LABEL` (`CKA_EC_PARAMS` names the curve, `CKA_EC_POINT` holds the point).
///
/// Lifecycle: `init` loads the module (shared per process and path), finds the
/// token by label, opens a session, logs in and finds the keys. ``close()``
/// (or deinit) logs out (when no other key of this process uses the token),
/// closes the session and, with the last key of the module, calls `C_Finalize`
/// and `dlclose`. The PIN is not kept.
///
/// Thread safety: calls to ``sign(_:)`` on one key are serialised by a mutex
/// (a PKCS#11 session runs one operation at a time); separate keys may sign in
/// parallel, the module is initialised with OS locking.
public final class PKCS11SigningKey: SigningKey {
    private struct Session {
        var handle: CK_SESSION_HANDLE
        var privateKey: CK_OBJECT_HANDLE
        var isOpen: Bool
    }

    /// The token key's public half (from its public key object).
    public let publicKey: VerificationKey
    /// The `CKA_LABEL` of the key.
    public let keyLabel: String

    private let module: PKCS11Module
    private let slot: CK_SLOT_ID
    private let session: Mutex<Session>

    /// Opens the key labelled `keyLabel` on the token labelled `tokenLabel`.
    /// - Parameters:
    ///   - modulePath: path of the PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    ///   - tokenLabel: the token label (compared without its blank padding); the first matching slot is used.
    ///   - keyLabel: `CKA_LABEL` of both the private and the public key object.
    ///   - pin: the user PIN.
    /// - Throws: ``PKCS11Error``.
    public init(modulePath: String, tokenLabel: String, keyLabel: String, pin: String) throws(PKCS11Error) {
        guard !keyLabel.isEmpty else { throw .keyNotFound(label: keyLabel) }
        let module = try PKCS11ModuleRegistry.acquire(path: modulePath)
        let client = PKCS11Client(functions: module.functions)
        var sessionHandle: CK_SESSION_HANDLE?
        var loggedInSlot: CK_SLOT_ID?
        do throws(PKCS11Error) {
            let slot = try client.slot(withTokenLabel: tokenLabel)
            let handle = try client.openSession(slot: slot)
            sessionHandle = handle
            try PKCS11ModuleRegistry.logIn(module, session: handle, slot: slot, pin: Array(pin.utf8))
            loggedInSlot = slot
            let label = Array(keyLabel.utf8)
            let privateKey = try client.uniqueObject(session: handle, objectClass: CK_ULONG(CKO_PRIVATE_KEY), label: label, keyLabel: keyLabel)
            guard let publicObject = try client.objects(session: handle, objectClass: CK_ULONG(CKO_PUBLIC_KEY), label: label).first else {
                throw PKCS11Error.publicKeyNotFound(label: keyLabel)
            }
            self.publicKey = try client.ecPublicKey(session: handle, object: publicObject)
            self.module = module
            self.slot = slot
            self.keyLabel = keyLabel
            self.session = Mutex(Session(handle: handle, privateKey: privateKey, isOpen: true))
        } catch {
            if let sessionHandle {
                if let loggedInSlot {
                    PKCS11ModuleRegistry.logOut(module, session: sessionHandle, slot: loggedInSlot)
                }
                _ = module.functions.C_CloseSession?(sessionHandle)
            }
            PKCS11ModuleRegistry.release(module)
            throw error
        }
    }

    deinit {
        close()
    }

    /// Hashes `message` with the curve's hash, has the token sign the digest, and returns DER ECDSA.
    /// - Throws: ``PKCS11Error/closed`` after ``close()``; ``PKCS11Error/callFailed(function:returnValue:)``
    ///   when the token fails; ``PKCS11Error/publicKeyMismatch(label:)`` when the
    ///   result does not verify with ``publicKey``.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        let curve = publicKey.curve
        let digest = curve.digest(message)
        let functions = module.functions
        let raw = try session.withLock { (state: inout Session) throws(PKCS11Error) -> [UInt8] in
            guard state.isOpen else { throw .closed }
            let client = PKCS11Client(functions: functions)
            return try client.signDigest(session: state.handle, key: state.privateKey, digest: digest,
                                         maxSignatureBytes: 2 * curve.coordinateByteCount)
        }
        guard let der = ECDSASignatureEncoding.der(fromRaw: raw, curve: curve),
              publicKey.isValidSignature(der, for: message)
        else {
            throw PKCS11Error.publicKeyMismatch(label: keyLabel)
        }
        return der
    }

    /// Logs out (if this is the process's last key on the token), closes the
    /// session and releases the module. Idempotent; later ``sign(_:)`` calls throw ``PKCS11Error/closed``.
    public func close() {
        let wasOpen = session.withLock { (state: inout Session) -> Bool in
            guard state.isOpen else { return false }
            state.isOpen = false
            PKCS11ModuleRegistry.logOut(module, session: state.handle, slot: slot)
            _ = module.functions.C_CloseSession?(state.handle)
            return true
        }
        if wasOpen {
            PKCS11ModuleRegistry.release(module)
        }
    }
}
