import Foundation
import Testing
import VesselTestSupport

/// `vessel sign DIR` and `vessel verify DIR`: exit codes, JSON and messages.
@Suite struct SignVerifyCLITests {
    @Test func signThenVerifyAndEveryRefusal() async throws {
        let ws = try Workspace()
        defer { ws.cleanup() }
        let model = try ws.writeModel("model", SampleModel.files)
        let mine = try ws.keyPair("mine"), other = try ws.keyPair("other")
        let sig = ws.path("model.sig")

        let signed = try await CLI.run(["sign", model, "--private-key", mine.privateKey, "--signature", sig, "--json"], home: ws.root)
        #expect(signed.status == 0, "\(signed.stderr)\(signed.stdout)")
        let signJSON = try signed.json()
        #expect(signJSON["files"] as? Int == 5 && signJSON["subject"] as? String == "model")
        let root = try #require(signJSON["root_digest"] as? String)
        #expect(root.hasPrefix("sha256:"))

        let ok = try await CLI.run(["verify", model, "--signature", sig, "--public-key", mine.publicKey, "--json"], home: ws.root)
        #expect(ok.status == 0, "\(ok.stderr)\(ok.stdout)")
        let okJSON = try ok.json()
        #expect(okJSON["verified"] as? Bool == true && okJSON["root_digest"] as? String == root && okJSON["files"] as? Int == 5 && okJSON["subject"] as? String == "model")
        let text = try await CLI.run(["verify", model, "--signature", sig, "--public-key", mine.publicKey], home: ws.root)
        #expect(text.status == 0 && text.stdout.contains("verified") && text.stdout.contains(root))

        // Wrong key: the bundle's hint names another key.
        let wrongKey = try await CLI.run(["verify", model, "--signature", sig, "--public-key", other.publicKey, "--json"], home: ws.root)
        #expect(wrongKey.status == 1)
        #expect(try wrongKey.errorCode() == "key_hint_mismatch")
        let wrongKeyText = try await CLI.run(["verify", model, "--signature", sig, "--public-key", other.publicKey], home: ws.root)
        #expect(wrongKeyText.status == 1 && wrongKeyText.stderr.contains("different key"), "\(wrongKeyText.stderr)")

        let bundle = try Data(contentsOf: URL(fileURLWithPath: sig))
        let bundleText = String(decoding: bundle, as: UTF8.self)

        // Tampered payload: one base64 character of the statement changed.
        let tamperedPayload = ws.path("payload.sig")
        try Data(Self.flip(bundleText, after: "\"payload\":\"", offset: 40).utf8).write(to: URL(fileURLWithPath: tamperedPayload))
        let payload = try await CLI.run(["verify", model, "--signature", tamperedPayload, "--public-key", mine.publicKey, "--json"], home: ws.root)
        #expect(payload.status == 1, "\(payload.stdout)")
        #expect(["payload_tampered", "malformed_statement"].contains(try payload.errorCode() ?? ""), "\(payload.stdout)")

        // Tampered signature.
        let tamperedSig = ws.path("sig.sig")
        try Data(Self.flip(bundleText, after: "\"sig\":\"", offset: 20).utf8).write(to: URL(fileURLWithPath: tamperedSig))
        let signature = try await CLI.run(["verify", model, "--signature", tamperedSig, "--public-key", mine.publicKey, "--json"], home: ws.root)
        #expect(signature.status == 1)
        #expect(["payload_tampered", "signature_invalid"].contains(try signature.errorCode() ?? ""), "\(signature.stdout)")

        // Mismatched key hint: the right key, but the bundle names another.
        let otherHint = String(repeating: "0", count: 64)
        let hintRange = try #require(bundleText.range(of: #"(?<="hint":")[0-9a-f]{64}"#, options: .regularExpression))
        let rehinted = ws.path("hint.sig")
        try Data(bundleText.replacingCharacters(in: hintRange, with: otherHint).utf8).write(to: URL(fileURLWithPath: rehinted))
        let hint = try await CLI.run(["verify", model, "--signature", rehinted, "--public-key", mine.publicKey, "--json"], home: ws.root)
        #expect(hint.status == 1)
        #expect(try hint.errorCode() == "key_hint_mismatch")

        // Unreadable inputs: exit 2.
        let junk = ws.path("junk.sig")
        try Data("not json".utf8).write(to: URL(fileURLWithPath: junk))
        let malformed = try await CLI.run(["verify", model, "--signature", junk, "--public-key", mine.publicKey, "--json"], home: ws.root)
        #expect(malformed.status == 2)
        #expect(try malformed.errorCode() == "malformed_bundle")
        let missing = try await CLI.run(["verify", model, "--signature", ws.path("absent.sig"), "--public-key", mine.publicKey], home: ws.root)
        #expect(missing.status == 2, "\(missing.stderr)")
        let badKey = try await CLI.run(["verify", model, "--signature", sig, "--public-key", junk, "--json"], home: ws.root)
        #expect(badKey.status == 2)
        #expect(try badKey.errorCode() == "invalid_public_key")

        // Changed, missing and extra files: each named.
        try Data("{\"hidden_size\": 9}".utf8).write(to: ws.url("model/config.json"))
        let changed = try await CLI.run(["verify", model, "--signature", sig, "--public-key", mine.publicKey, "--json"], home: ws.root)
        #expect(changed.status == 1)
        #expect(try changed.errorCode() == "file_changed")
        #expect(changed.stdout.contains("config.json"))
        try Data(SampleModel.files["config.json"] ?? []).write(to: ws.url("model/config.json"))

        try FileManager.default.removeItem(at: ws.url("model/tok/v.txt"))
        let gone = try await CLI.run(["verify", model, "--signature", sig, "--public-key", mine.publicKey], home: ws.root)
        #expect(gone.status == 1 && gone.stderr.contains("tok/v.txt") && gone.stderr.contains("missing"), "\(gone.stderr)")
        try Data([6]).write(to: ws.url("model/tok/v.txt"))

        try Data([1]).write(to: ws.url("model/extra.bin"))
        try Data([2]).write(to: ws.url("model/weights/extra2.bin"))
        let extra = try await CLI.run(["verify", model, "--signature", sig, "--public-key", mine.publicKey, "--json"], home: ws.root)
        #expect(extra.status == 1)
        #expect(try extra.errorCode() == "file_extra")
        let details = ((try extra.json()["error"] as? [String: Any])?["details"] as? [String]) ?? []
        #expect(details.count == 2 && details.joined().contains("extra.bin") && details.joined().contains("weights/extra2.bin"), "\(extra.stdout)")
        try FileManager.default.removeItem(at: ws.url("model/extra.bin"))
        try FileManager.default.removeItem(at: ws.url("model/weights/extra2.bin"))

        // The pull marker is not a file of the model.
        try Data("{}".utf8).write(to: ws.url("model/.vessel.json"))
        let marker = try await CLI.run(["verify", model, "--signature", sig, "--public-key", mine.publicKey], home: ws.root)
        #expect(marker.status == 0, "\(marker.stderr)")
    }

    @Test func signatureInsideTheFolderIsLeftOut() async throws {
        let ws = try Workspace()
        defer { ws.cleanup() }
        let model = try ws.writeModel("model", SampleModel.files)
        let mine = try ws.keyPair("mine")
        let sig = ws.path("model/model.sig")
        for _ in 0..<2 {  // the second run re-signs with the old signature present
            let signed = try await CLI.run(["sign", model, "--private-key", mine.privateKey, "--signature", sig, "--json"], home: ws.root)
            #expect(signed.status == 0, "\(signed.stderr)")
            #expect(try signed.json()["files"] as? Int == 5)
        }
        let bundle = String(decoding: try Data(contentsOf: URL(fileURLWithPath: sig)), as: UTF8.self)
        let payload = try #require(bundle.range(of: #"(?<="payload":")[^"]+"#, options: .regularExpression).map { String(bundle[$0]) })
        let statement = String(decoding: try #require(Data(base64Encoded: payload)), as: UTF8.self)
        #expect(statement.contains("\"model.sig\"") && statement.contains("\".vessel.json\""))
        let ok = try await CLI.run(["verify", model, "--signature", sig, "--public-key", mine.publicKey], home: ws.root)
        #expect(ok.status == 0, "\(ok.stderr)")
    }

    @Test func usageErrors() async throws {
        let ws = try Workspace()
        defer { ws.cleanup() }
        let model = try ws.writeModel("model", SampleModel.files)
        let mine = try ws.keyPair("mine")
        let noSignature = try await CLI.run(["sign", model, "--private-key", mine.privateKey], home: ws.root)
        #expect(noSignature.status == 64, "\(noSignature.stderr)")
        let noKey = try await CLI.run(["sign", model, "--signature", ws.path("s.sig")], home: ws.root)
        #expect(noKey.status == 64)
        let both = try await CLI.run(["sign", model, "--model", "acme/m", "--private-key", mine.privateKey], home: ws.root)
        #expect(both.status == 64)
        let badKey = try await CLI.run(["sign", model, "--private-key", mine.publicKey, "--signature", ws.path("s.sig"), "--json"], home: ws.root)
        #expect(badKey.status == 2)
        #expect(try badKey.errorCode() == "invalid_private_key")
        let noPin = try await CLI.run(["sign", model, "--pkcs11-module", "/nonexistent.so", "--pkcs11-token", "t", "--key-label", "k", "--signature", ws.path("s.sig"), "--json"], home: ws.root)
        #expect(noPin.status == 2)
        #expect(try noPin.errorCode() == "invalid_argument")
    }

    /// `text` with one base64 character changed `offset` characters after `marker`.
    static func flip(_ text: String, after marker: String, offset: Int) -> String {
        guard let range = text.range(of: marker) else { return text }
        let index = text.index(range.upperBound, offsetBy: offset)
        let replacement: Character = text[index] == "A" ? "B" : "A"
        return text.replacingCharacters(in: index...index, with: String(replacement))
    }
}
