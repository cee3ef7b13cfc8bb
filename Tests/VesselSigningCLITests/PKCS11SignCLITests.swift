import Foundation
import Testing
import VesselTestSupport

/// `vessel sign --pkcs11-module …` with a SoftHSM token made by scripts/softhsm_setup.sh in a
/// temp dir (the `vessel` process gets `SOFTHSM2_CONF`; this process never loads the module).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["VESSEL_TEST_SOFTHSM_MODULE"].map { !$0.isEmpty } ?? false,
                "set VESSEL_TEST_SOFTHSM_MODULE to libsofthsm2.so (scripts/test does)"))
struct PKCS11SignCLITests {
    @Test func signWithATokenKeyAndVerify() async throws {
        let module = ProcessInfo.processInfo.environment["VESSEL_TEST_SOFTHSM_MODULE"] ?? ""
        let ws = try Workspace()
        defer { ws.cleanup() }
        let conf = ws.path("hsm/softhsm2.conf")
        try FileManager.default.createDirectory(at: ws.url("hsm"), withIntermediateDirectories: true)
        let setup = try await runProcess("/bin/bash", [CLI.packageRoot.appendingPathComponent("scripts/softhsm_setup.sh").path],
                                         environment: ProcessInfo.processInfo.environment.merging(["SOFTHSM2_CONF": conf, "SOFTHSM_MODULE": module]) { _, new in new })
        try #require(setup.status == 0, "softhsm_setup.sh: \(setup.stderr)")
        let model = try ws.writeModel("model", SampleModel.files)
        let sig = ws.path("hsm.sig")
        let hsm = ["SOFTHSM2_CONF": conf, "VESSEL_PKCS11_PIN": "1234"]
        let args = ["sign", model, "--pkcs11-module", module, "--pkcs11-token", "vessel", "--key-label", "signing-p256", "--signature", sig, "--json"]
        let signed = try await CLI.run(args, environment: hsm, home: ws.root)
        #expect(signed.status == 0, "\(signed.stdout)\(signed.stderr)")
        let verified = try await CLI.run(["verify", model, "--signature", sig, "--public-key", ws.path("hsm/signing-p256.pub.pem")], home: ws.root)
        #expect(verified.status == 0, "\(verified.stderr)")

        let wrongPin = try await CLI.run(args, environment: ["SOFTHSM2_CONF": conf, "VESSEL_PKCS11_PIN": "0000"], home: ws.root)
        #expect(wrongPin.status == 4)
        #expect(try wrongPin.errorCode() == "pin_incorrect")
        let noKey = try await CLI.run(["sign", model, "--pkcs11-module", module, "--pkcs11-token", "vessel", "--key-label", "absent", "--signature", sig, "--json"], environment: hsm, home: ws.root)
        #expect(noKey.status == 2)
        #expect(try noKey.errorCode() == "key_not_found")
    }
}
