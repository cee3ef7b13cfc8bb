import VesselCore
import Foundation
import Testing
@testable import VesselSigning

/// Vessel against the real PyPI `model-signing` 1.1.1 CLI, both directions, positive and negative.
@Suite(
    "Interop with model-signing 1.1.1",
    .enabled(if: TestEnvironment.python != nil,
             "set VESSEL_TEST_PYTHON to a python with model-signing==1.1.1 and pyopenssl (scripts/test makes one)")
)
struct InteropTests {
    enum Producer: String, CaseIterable, Sendable { case python, vessel }

    enum Tamper: String, CaseIterable, Sendable {
        case wrongKey, payload, signature, keyHint, changedFile, missingFile, extraFile
    }

    /// Signs `model` with `pair` using `producer`; the signature goes outside the folder.
    private func sign(_ model: URL, with pair: OpenSSLKeys.Pair, by producer: Producer) async throws -> URL {
        let signature = model.deletingLastPathComponent().appendingPathComponent("model-\(producer).sig")
        switch producer {
        case .python:
            let result = try await ModelSigningCLI.sign(model: model, privateKey: pair.privateKey, signature: signature.path)
            guard result.status == 0 else { throw SetupError("model_signing sign failed: \(result.stderr)") }
        case .vessel:
            let key = try FileSigningKey(contentsOfFile: pair.privateKey)
            let bundle = try BundleWriter(key: key).makeBundle(subjectName: model.lastPathComponent,
                                                               resources: try TestSupport.hashFolder(model))
            try Data(bundle).write(to: signature)
        }
        return signature
    }

    /// Vessel's verdict: `nil` when verified and the files match, else the first error.
    private func vesselVerdict(model: URL, publicKey: String, signature: URL, ignoring: Set<String> = []) throws -> VerificationError? {
        let verifier = BundleVerifier(publicKey: try VerificationKey(pem: String(contentsOfFile: publicKey, encoding: .utf8)))
        let actual = try TestSupport.hashFolder(model, ignoring: ignoring)
        do {
            let statement = try verifier.verify(bundleAtPath: signature.path)
            return BundleVerifier.compare(statement, with: actual).first
        } catch {
            return error
        }
    }

    @Test("Python signs, Vessel verifies; Vessel signs, Python verifies",
          arguments: Producer.allCases, [0, 1, 2, 3])
    func roundTrip(producer: Producer, keyIndex: Int) async throws {
        let keys = try OpenSSLKeys.shared.get()
        let pair = keys.pairs[keyIndex]
        let model = try InteropModel.make()
        let signature = try await sign(model, with: pair, by: producer)
        let verdict = try vesselVerdict(model: model, publicKey: pair.publicKey, signature: signature)
        #expect(verdict == nil, "\(pair.name): \(String(describing: verdict))")
        let python = try await ModelSigningCLI.verify(model: model, publicKey: pair.publicKey, signature: signature.path)
        #expect(python.status == 0, "\(pair.name): \(python.stdout) \(python.stderr)")
    }

    @Test("both agree on the root digest of the same folder")
    func sameRootDigest() async throws {
        let keys = try OpenSSLKeys.shared.get()
        let model = try InteropModel.make()
        let pair = keys.pairs[0]
        let verifier = BundleVerifier(publicKey: try FileSigningKey(contentsOfFile: pair.privateKey).publicKey)
        let python = try verifier.verify(bundleAtPath: try await sign(model, with: pair, by: .python).path)
        let vessel = try verifier.verify(bundleAtPath: try await sign(model, with: pair, by: .vessel).path)
        #expect(python.rootDigest == vessel.rootDigest)
        #expect(python.resources == vessel.resources)
    }

    @Test("a Vessel signature stored inside the model folder verifies with Python (ignore_paths)")
    func signatureInsideFolder() async throws {
        let keys = try OpenSSLKeys.shared.get()
        let pair = keys.pairs[1]
        let model = try InteropModel.make()
        let key = try FileSigningKey(contentsOfFile: pair.privateKey)
        let bundle = try BundleWriter(key: key).makeBundle(subjectName: "model", resources: try TestSupport.hashFolder(model),
                                                           additionalIgnorePaths: ["model.sig"])
        let signature = model.appendingPathComponent("model.sig")
        try Data(bundle).write(to: signature)
        let python = try await ModelSigningCLI.verify(model: model, publicKey: pair.publicKey, signature: signature.path)
        #expect(python.status == 0, "\(python.stdout) \(python.stderr)")
        // Vessel honours the signed ignore_paths too, even when the walker lists the signature file.
        #expect(try vesselVerdict(model: model, publicKey: pair.publicKey, signature: signature) == nil)
    }

    @Test("every tampering is refused by both verifiers", arguments: Producer.allCases, Tamper.allCases)
    func negative(producer: Producer, tamper: Tamper) async throws {
        let keys = try OpenSSLKeys.shared.get()
        let pair = keys.pairs[producer == .python ? 0 : 3]
        let other = keys.pairs[producer == .python ? 2 : 1]
        let model = try InteropModel.make()
        let signature = try await sign(model, with: pair, by: producer)
        var publicKey = pair.publicKey
        let original = Array(try Data(contentsOf: signature))
        var expectedCodes: Set<String>
        switch tamper {
        case .wrongKey:
            publicKey = other.publicKey
            expectedCodes = ["key_hint_mismatch"]
        case .payload:
            let payload = String(decoding: try TestSupport.payload(of: original), as: UTF8.self)
            let digest = Hex.encode(TestSupport.resource("x", "").sha256) // the empty file's digest
            let changed = payload.replacingOccurrences(of: digest, with: String(repeating: "0", count: 64))
            #expect(changed != payload)
            try write(original, to: signature) { envelope in envelope["payload"] = Data(changed.utf8).base64EncodedString() }
            expectedCodes = ["payload_tampered"]
        case .signature:
            let envelope = try BundleEnvelope.parse(original)
            var sig = envelope.signature
            sig[sig.count - 2] ^= 0x40
            try write(original, to: signature) { env in
                env["signatures"] = [["sig": Data(sig).base64EncodedString(), "keyid": ""]]
            }
            expectedCodes = ["payload_tampered", "signature_invalid"]
        case .keyHint:
            let otherHint = try VerificationKey(pem: String(contentsOfFile: other.publicKey, encoding: .utf8)).hint
            let text = String(decoding: original, as: UTF8.self)
            let hint = try VerificationKey(pem: String(contentsOfFile: pair.publicKey, encoding: .utf8)).hint
            try Data(text.replacingOccurrences(of: hint, with: otherHint).utf8).write(to: signature)
            expectedCodes = ["key_hint_mismatch"]
        case .changedFile:
            try Data([9, 9]).write(to: model.appendingPathComponent("a/c"))
            expectedCodes = ["file_changed"]
        case .missingFile:
            try FileManager.default.removeItem(at: model.appendingPathComponent("tok/v.txt"))
            expectedCodes = ["file_missing"]
        case .extraFile:
            try Data([1]).write(to: model.appendingPathComponent("weights/extra.bin"))
            expectedCodes = ["file_extra"]
        }
        let verdict = try vesselVerdict(model: model, publicKey: publicKey, signature: signature)
        #expect(verdict.map { expectedCodes.contains($0.code) } == true, "Vessel: \(String(describing: verdict))")
        let python = try await ModelSigningCLI.verify(model: model, publicKey: publicKey, signature: signature.path)
        #expect(python.status != 0, "model_signing accepted \(tamper) of a \(producer) signature")
    }

    /// Rewrites the bundle's dsseEnvelope with `edit` (as JSON) and writes it to `url`.
    private func write(_ bundle: [UInt8], to url: URL, _ edit: @escaping (inout [String: Any]) -> Void) throws {
        let edited = try TestSupport.editBundle(bundle) { object in
            var envelope = object["dsseEnvelope"] as? [String: Any] ?? [:]
            edit(&envelope)
            object["dsseEnvelope"] = envelope
        }
        try Data(edited).write(to: url)
    }
}
