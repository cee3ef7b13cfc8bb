import ArgumentParser
import Foundation
import VesselCore
import VesselSigning

/// Where a signing key comes from: a PEM file, or a PKCS#11 token (PIN from
/// `VESSEL_PKCS11_PIN`, never a flag, so it stays out of shell history and `ps`).
struct SigningKeyOptions: ParsableArguments {
    @Option(name: [.customLong("private-key"), .customLong("sign-key")], help: "An unencrypted PEM ECDSA private key (P-256, P-384 or P-521).")
    var privateKey: String?

    @Option(name: .customLong("pkcs11-module"), help: "Sign with a PKCS#11 token: the module library (e.g. /usr/lib/softhsm/libsofthsm2.so). PIN from $VESSEL_PKCS11_PIN.")
    var pkcs11Module: String?

    @Option(name: .customLong("pkcs11-token"), help: "The token label (with --pkcs11-module).")
    var pkcs11Token: String?

    @Option(name: .customLong("key-label"), help: "The key's CKA_LABEL on the token (with --pkcs11-module).")
    var keyLabel: String?

    static let pinVariable = "VESSEL_PKCS11_PIN"

    var isGiven: Bool { privateKey != nil || pkcs11Module != nil }

    func validate() throws {
        if privateKey != nil && pkcs11Module != nil {
            throw ValidationError("pass either --private-key or --pkcs11-module, not both")
        }
        if pkcs11Module != nil && (pkcs11Token == nil || keyLabel == nil) {
            throw ValidationError("--pkcs11-module needs --pkcs11-token and --key-label")
        }
        if pkcs11Module == nil && (pkcs11Token != nil || keyLabel != nil) {
            throw ValidationError("--pkcs11-token and --key-label need --pkcs11-module")
        }
    }

    /// The key, or nil when none was given.
    /// - Throws: the key's error (`KeyError`, `PKCS11Error`); `invalid_argument` without a PIN.
    func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (any SigningKey)? {
        if let privateKey { return try FileSigningKey(contentsOfFile: privateKey) }
        guard let module = pkcs11Module, let token = pkcs11Token, let label = keyLabel else { return nil }
        guard let pin = environment[Self.pinVariable], !pin.isEmpty else {
            throw VesselError.invalidArgument("set \(Self.pinVariable) to the token's user PIN")
        }
        return try PKCS11SigningKey(modulePath: module, tokenLabel: token, keyLabel: label, pin: pin)
    }
}
