import Foundation
import Testing
@testable import VesselSigning

/// A SoftHSM token made once per test process by scripts/softhsm_setup.sh in a
/// temporary folder; `SOFTHSM2_CONF` is set in this process before the module is loaded.
struct SoftHSMToken: Sendable {
    let modulePath: String
    let directory: URL
    static let tokenLabel = "vessel"
    static let pin = "1234"

    func publicKeyPath(_ label: String) -> String {
        directory.appendingPathComponent("\(label).pub.pem").path
    }

    static let shared: Result<SoftHSMToken, any Error> = Result {
        guard let module = TestEnvironment.softHSMModule else { throw SetupError("VESSEL_TEST_SOFTHSM_MODULE is not set") }
        let directory = try TestSupport.makeTemporaryDirectory()
        let conf = directory.appendingPathComponent("softhsm2.conf").path
        let script = TestEnvironment.packageRoot.appendingPathComponent("scripts/softhsm_setup.sh").path
        let result = try TestSupport.run("/bin/bash", [script], environment: ["SOFTHSM2_CONF": conf, "SOFTHSM_MODULE": module])
        guard result.status == 0 else { throw SetupError("softhsm_setup.sh failed: \(result.stderr)") }
        setenv("SOFTHSM2_CONF", conf, 1)
        return SoftHSMToken(modulePath: module, directory: directory)
    }
}

@Suite(
    "PKCS#11 with SoftHSM",
    .serialized,
    .enabled(if: TestEnvironment.softHSMModule != nil,
             "set VESSEL_TEST_SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so (apt-get install softhsm2 opensc)")
)
struct PKCS11Tests {
    private func open(_ label: String, pin: String = SoftHSMToken.pin, token: String = SoftHSMToken.tokenLabel) throws -> PKCS11SigningKey {
        let hsm = try SoftHSMToken.shared.get()
        return try PKCS11SigningKey(modulePath: hsm.modulePath, tokenLabel: token, keyLabel: label, pin: pin)
    }

    @Test("token keys sign bundles that Vessel verifies; the hint matches the exported public key",
          arguments: [("signing-p256", ECCurve.p256), ("signing-p384", .p384)])
    func signs(label: String, curve: ECCurve) throws {
        let hsm = try SoftHSMToken.shared.get()
        let key = try open(label)
        defer { key.close() }
        let exported = try VerificationKey(pem: String(contentsOfFile: hsm.publicKeyPath(label), encoding: .utf8))
        #expect(key.publicKey == exported)
        #expect(key.publicKey.curve == curve)
        let resources = [TestSupport.resource("w.bin", "weights"), TestSupport.resource("c.json", "{}")]
        let bundle = try BundleWriter(key: key).makeBundle(subjectName: "m", resources: resources)
        let statement = try BundleVerifier(publicKey: exported).verify(bundle: bundle)
        #expect(BundleVerifier.compare(statement, with: resources).isEmpty)
    }

    @Test("HSM-signed bundles verify with model_signing", .enabled(if: TestEnvironment.python != nil, "needs VESSEL_TEST_PYTHON"),
          arguments: ["signing-p256", "signing-p384"])
    func pythonVerifies(label: String) async throws {
        let hsm = try SoftHSMToken.shared.get()
        let key = try open(label)
        defer { key.close() }
        let model = try InteropModel.make()
        let bundle = try BundleWriter(key: key).makeBundle(subjectName: "model", resources: try TestSupport.hashFolder(model))
        let signature = model.deletingLastPathComponent().appendingPathComponent("hsm.sig")
        try Data(bundle).write(to: signature)
        let result = try await ModelSigningCLI.verify(model: model, publicKey: hsm.publicKeyPath(label), signature: signature.path)
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
    }

    @Test("two keys share the module and login; signing is serial per key and parallel across keys; close is idempotent")
    func lifecycle() async throws {
        let first = try open("signing-p256")
        let second = try open("signing-p384")
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<8 {
                let key = index.isMultiple(of: 2) ? first : second
                group.addTask {
                    let message = Array("message \(index)".utf8)
                    return key.publicKey.isValidSignature(try key.sign(message), for: message)
                }
            }
            for try await valid in group {
                #expect(valid)
            }
        }
        first.close()
        first.close()
        #expect(throws: PKCS11Error.closed) { try first.sign([1]) }
        let message: [UInt8] = [1, 2, 3]
        #expect(second.publicKey.isValidSignature(try second.sign(message), for: message))
        second.close()
    }

    @Test("configuration and PIN errors are reported with their own codes")
    func errors() throws {
        let hsm = try SoftHSMToken.shared.get()
        let cases: [(() throws -> PKCS11SigningKey, String)] = [
            ({ try self.open("signing-p256", pin: "0000") }, "pin_incorrect"),
            ({ try self.open("signing-p256", token: "no-such-token") }, "token_not_found"),
            ({ try self.open("no-such-key") }, "key_not_found"),
            ({ try self.open("") }, "key_not_found"),
            ({ try PKCS11SigningKey(modulePath: "/nonexistent/module.so", tokenLabel: "vessel", keyLabel: "k", pin: "1") },
             "pkcs11_module_unavailable"),
            ({ try PKCS11SigningKey(modulePath: "/usr/lib/x86_64-linux-gnu/libc.so.6", tokenLabel: "vessel", keyLabel: "k", pin: "1") },
             "pkcs11_module_unavailable"),
        ]
        _ = hsm
        for (make, code) in cases {
            do {
                let key = try make()
                key.close()
                Issue.record("expected \(code)")
            } catch let error as PKCS11Error {
                #expect(error.code == code, "\(error)")
            }
        }
        // The token still works after the failures.
        let key = try open("signing-p256")
        #expect(key.publicKey.isValidSignature(try key.sign([0]), for: [0]))
        key.close()
    }

    @Test("CKA_EC_POINT parsing accepts the DER OCTET STRING form and the bare point, nothing else")
    func ecPoint() {
        let point = [UInt8(0x04)] + Array(repeating: 1, count: 64)
        #expect(PKCS11Client.uncompressedPoint(fromECPoint: [0x04, 0x41] + point, curve: .p256) == point)
        #expect(PKCS11Client.uncompressedPoint(fromECPoint: point, curve: .p256) == point)
        #expect(PKCS11Client.uncompressedPoint(fromECPoint: [0x04, 0x41] + point.dropLast(), curve: .p256) == nil)
        #expect(PKCS11Client.uncompressedPoint(fromECPoint: [0x04, 0x41] + point, curve: .p384) == nil)
        let p384 = [UInt8(0x04)] + Array(repeating: 2, count: 96)
        #expect(PKCS11Client.uncompressedPoint(fromECPoint: [0x04, 0x61] + p384, curve: .p384) == p384)
        #expect(PKCS11Client.trimmedLabel(Array("vessel".utf8) + Array(repeating: 0x20, count: 26)) == Array("vessel".utf8))
    }
}
