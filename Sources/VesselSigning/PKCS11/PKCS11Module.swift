import CPKCS11
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loaded PKCS#11 module (`dlopen`ed library plus its function table).
///
/// Cryptoki keeps per-process state: `C_Initialize` and `C_Finalize` act on the
/// whole process, and a token's login state is shared by all sessions of the
/// process (`C_Logout` logs every session out). Modules are therefore shared
/// through ``PKCS11ModuleRegistry``, which counts references and logins, instead
/// of each key initialising and finalising on its own.
///
/// `@unchecked Sendable`: every stored property is immutable after `init`, and
/// the module is initialised with `CKF_OS_LOCKING_OK`, so the module itself
/// locks around calls made from several threads.
final class PKCS11Module: @unchecked Sendable {
    let path: String
    private let handle: UnsafeMutableRawPointer
    let functions: CK_FUNCTION_LIST
    /// `false` when someone else in the process had already initialised the module; then it is never finalised here.
    let ownsInitialization: Bool

    /// Loads and initialises the module.
    init(path: String) throws(PKCS11Error) {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            throw .moduleUnavailable(path: path, reason: reason)
        }
        guard let symbol = dlsym(handle, "C_GetFunctionList") else {
            dlclose(handle)
            throw .moduleUnavailable(path: path, reason: "the library has no C_GetFunctionList symbol")
        }
        let getFunctionList = unsafeBitCast(symbol, to: vck_get_function_list.self)
        var table: UnsafeMutablePointer<CK_FUNCTION_LIST>?
        let rv = getFunctionList(&table)
        guard rv == CKR_OK, let table, let initialize = table.pointee.C_Initialize else {
            dlclose(handle)
            throw .moduleUnavailable(path: path, reason: "C_GetFunctionList failed with \(PKCS11Error.name(of: rv))")
        }
        var arguments = CK_C_INITIALIZE_ARGS(
            CreateMutex: nil, DestroyMutex: nil, LockMutex: nil, UnlockMutex: nil,
            flags: CK_FLAGS(CKF_OS_LOCKING_OK), pReserved: nil
        )
        let initRV = initialize(&arguments)
        guard initRV == CKR_OK || initRV == CKR_CRYPTOKI_ALREADY_INITIALIZED else {
            dlclose(handle)
            throw .callFailed(function: "C_Initialize", returnValue: initRV)
        }
        self.path = path
        self.handle = handle
        self.functions = table.pointee
        self.ownsInitialization = initRV == CKR_OK
    }

    /// Finalises (if this process initialised it here) and unloads the module. Called once by the registry.
    func shutDown() {
        if ownsInitialization {
            _ = functions.C_Finalize?(nil)
        }
        dlclose(handle)
    }
}

/// Process-wide bookkeeping of loaded PKCS#11 modules.
///
/// This is the one piece of global state in VesselSigning, and it mirrors the
/// process-global state Cryptoki itself defines (see ``PKCS11Module``): two keys
/// from the same module must share one initialisation and one login.
enum PKCS11ModuleRegistry {
    private struct Entry {
        var module: PKCS11Module
        var references: Int
        var logins: [CK_SLOT_ID: Int]
    }

    private static let entries = Mutex<[String: Entry]>([:])

    /// The module at `path`, loaded and initialised on first use. Balance with ``release(_:)``.
    static func acquire(path: String) throws(PKCS11Error) -> PKCS11Module {
        try entries.withLock { (entries: inout [String: Entry]) throws(PKCS11Error) -> PKCS11Module in
            if var entry = entries[path] {
                entry.references += 1
                entries[path] = entry
                return entry.module
            }
            let module = try PKCS11Module(path: path)
            entries[path] = Entry(module: module, references: 1, logins: [:])
            return module
        }
    }

    /// Drops one reference; the last one finalises and unloads the module.
    static func release(_ module: PKCS11Module) {
        entries.withLock { entries in
            guard var entry = entries[module.path] else { return }
            entry.references -= 1
            if entry.references > 0 {
                entries[module.path] = entry
            } else {
                entries[module.path] = nil
                entry.module.shutDown()
            }
        }
    }

    /// Logs the user in on `slot` through `session` unless this process already is; counts the login.
    static func logIn(_ module: PKCS11Module, session: CK_SESSION_HANDLE, slot: CK_SLOT_ID, pin: [UInt8]) throws(PKCS11Error) {
        try entries.withLock { (entries: inout [String: Entry]) throws(PKCS11Error) in
            guard var entry = entries[module.path], let login = module.functions.C_Login else {
                throw .callFailed(function: "C_Login", returnValue: UInt(CKR_CRYPTOKI_NOT_INITIALIZED))
            }
            var pinBytes = pin
            let rv = pinBytes.withUnsafeMutableBufferPointer { buffer in
                login(session, CK_USER_TYPE(CKU_USER), buffer.baseAddress, CK_ULONG(buffer.count))
            }
            switch rv {
            case CKR_OK, CKR_USER_ALREADY_LOGGED_IN:
                break
            case CKR_PIN_INCORRECT, CKR_PIN_LOCKED, 0xA1, 0xA2:
                throw .pinIncorrect(returnValue: rv)
            default:
                throw .callFailed(function: "C_Login", returnValue: rv)
            }
            entry.logins[slot, default: 0] += 1
            entries[module.path] = entry
        }
    }

    /// Drops one login on `slot`; the last one calls `C_Logout`.
    static func logOut(_ module: PKCS11Module, session: CK_SESSION_HANDLE, slot: CK_SLOT_ID) {
        entries.withLock { entries in
            guard var entry = entries[module.path] else { return }
            let remaining = (entry.logins[slot] ?? 1) - 1
            entry.logins[slot] = remaining > 0 ? remaining : nil
            entries[module.path] = entry
            if remaining <= 0 {
                _ = module.functions.C_Logout?(session)
            }
        }
    }
}
