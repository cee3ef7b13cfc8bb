import Foundation
import Testing
import VesselClient
import VesselCore
import VesselTestSupport

/// A folder made by `vessel pull` (so holding `.vessel.json`) verifies with the real
/// `model_signing verify key`, against the registry's signature and against `vessel sign`.
@Suite(.enabled(if: PythonPeer.python != nil, "set VESSEL_TEST_PYTHON to a python with model-signing==1.1.1 (scripts/test does)"))
struct PulledFolderInteropTests {
    @Test func pulledFolderVerifiesWithModelSigning() async throws {
        let ws = try Workspace()
        defer { ws.cleanup() }
        let model = try ws.writeModel("model", SampleModel.files)
        let key = try ws.keyPair("release")
        try await LiveRegistry.with { live in
            func vessel(_ arguments: [String]) async throws -> ProcessResult {
                try await CLI.run(arguments, environment: live.environment, home: ws.root)
            }
            let pushed = try await vessel(["push", model, "--model", "acme/m", "--sign-key", key.privateKey, "--json"])
            #expect(pushed.status == 0, "\(pushed.stderr)")
            let serving = ws.path("serving")
            let pulled = try await vessel(["pull", "acme/m:1", serving, "--verify-key", key.publicKey])
            #expect(pulled.status == 0, "\(pulled.stderr)")
            #expect(FileManager.default.fileExists(atPath: "\(serving)/.vessel.json"))

            // The registry's signature, fetched as stored.
            let registrySig = ws.path("registry.sig")
            try await live.withClient { api in
                let signature = try #require(try await api.signatures(try ModelName("acme/m"), version: 1).first)
                try Data(try await api.signatureBundle(try ModelName("acme/m"), version: 1, id: signature.id)).write(to: URL(fileURLWithPath: registrySig))
            }
            let fromRegistry = try await PythonPeer.modelSigning(["verify", "key", serving, "--signature", registrySig, "--public_key", key.publicKey])
            #expect(fromRegistry.status == 0, "model_signing: \(fromRegistry.stdout)\(fromRegistry.stderr)")

            // vessel sign over the pulled folder, signature written inside it.
            let insideSig = "\(serving)/model.sig"
            let signed = try await vessel(["sign", serving, "--private-key", key.privateKey, "--signature", insideSig])
            #expect(signed.status == 0, "\(signed.stderr)")
            let fromSign = try await PythonPeer.modelSigning(["verify", "key", serving, "--signature", insideSig, "--public_key", key.publicKey])
            #expect(fromSign.status == 0, "model_signing: \(fromSign.stdout)\(fromSign.stderr)")

            // And a model_signing signature of the original folder verifies with vessel verify.
            let pySig = ws.path("py.sig")
            let pySigned = try await PythonPeer.modelSigning(["sign", "key", model, "--private_key", key.privateKey, "--signature", pySig])
            #expect(pySigned.status == 0, "\(pySigned.stderr)")
            let verified = try await vessel(["verify", model, "--signature", pySig, "--public-key", key.publicKey, "--json"])
            #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
            // A changed pulled file is refused by model_signing as well.
            try Data("changed".utf8).write(to: URL(fileURLWithPath: "\(serving)/config.json"), options: .atomic)  // pulled files are hard links into the cache
            let changed = try await PythonPeer.modelSigning(["verify", "key", serving, "--signature", registrySig, "--public_key", key.publicKey])
            #expect(changed.status != 0)
        }
    }
}
