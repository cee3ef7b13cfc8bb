import VesselCore
import Foundation
import Testing
@testable import VesselSigning

@Suite("Bundle verifier")
struct BundleVerifierTests {
    static let model = [
        TestSupport.resource("weights.bin", "w"),
        TestSupport.resource("config.json", "{}"),
        TestSupport.resource("sub/tokenizer.json", "t"),
    ]

    private func signed(_ pem: String = Fixtures.p256PKCS8) throws -> (bundle: [UInt8], verifier: BundleVerifier) {
        let key = try FileSigningKey(pem: pem)
        let bundle = try BundleWriter(key: key).makeBundle(subjectName: "model", resources: Self.model)
        return (bundle, BundleVerifier(publicKey: key.publicKey))
    }

    private func expectError(_ code: String, _ body: () throws -> Void,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
        } catch let error as VerificationError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }

    /// A bundle around `payload`, signed properly by `key` (to reach checks behind the signature).
    private func bundle(payload: String, key: FileSigningKey, payloadType: String = BundleFormat.payloadType) throws -> [UInt8] {
        let bytes = Array(payload.utf8)
        let signature = try key.sign(DSSE.preAuthenticationEncoding(payloadType: payloadType, payload: bytes))
        let text = String(decoding: BundleWriter.bundleJSON(payload: bytes, signature: signature, hint: key.publicKey.hint), as: UTF8.self)
        return Array(text.replacingOccurrences(of: BundleFormat.payloadType, with: payloadType).utf8)
    }

    @Test("Python-signed bundles (P-256 SEC1 and P-384 PKCS#8 keys) verify and match the folder")
    func pythonFixtures() throws {
        let actual = Fixtures.modelFiles.map { SignedResource(path: $0.path, sha256: Hex.decodeLowercase($0.sha256, byteCount: 32) ?? []) }
        for (bundle, publicKey) in [(Fixtures.pythonBundleP256, Fixtures.p256Public), (Fixtures.pythonBundleP384, Fixtures.p384Public)] {
            let statement = try BundleVerifier(publicKey: try VerificationKey(pem: publicKey)).verify(bundle: Array(bundle.utf8))
            #expect(statement.subjectName == "model")
            #expect(statement.resources.map(\.path) == ["a/c", "a-b", "empty", "sub/c.json", "w.bin"])
            #expect(Set(statement.ignorePaths) == Set(BundleFormat.defaultIgnorePaths))
            #expect(BundleVerifier.compare(statement, with: actual).isEmpty)
            // Vessel's own ordering of the same files gives the same root digest.
            #expect(BundleWriter.rootDigest(of: SignedResource.sortedInModelSigningOrder(actual)) == statement.rootDigest)
        }
    }

    @Test("a Python bundle checked with the other key is a key hint mismatch")
    func pythonWrongKey() throws {
        let verifier = BundleVerifier(publicKey: try VerificationKey(pem: Fixtures.p384Public))
        expectError("key_hint_mismatch") { _ = try verifier.verify(bundle: Array(Fixtures.pythonBundleP256.utf8)) }
    }

    @Test("round trip and file comparison: changed, missing and extra files are each reported")
    func compare() throws {
        let (bundle, verifier) = try signed()
        let statement = try verifier.verify(bundle: bundle)
        #expect(statement.resources == SignedResource.sortedInModelSigningOrder(Self.model))
        #expect(BundleVerifier.compare(statement, with: Self.model).isEmpty)

        var actual = Self.model.filter { $0.path != "config.json" }
        actual[0] = TestSupport.resource(actual[0].path, "changed")
        actual.append(TestSupport.resource("extra.txt", "e"))
        actual.append(TestSupport.resource(".git", "ignored by the signature"))
        let differences = BundleVerifier.compare(statement, with: actual)
        #expect(differences.map(\.code) == ["file_missing", "file_extra", "file_changed"])
        #expect(differences.map(\.path) == ["config.json", "extra.txt", "weights.bin"])
        #expect(differences.allSatisfy { !$0.isUnreadableInput && $0.exitCode == 1 })
        #expect(differences[2].message.hasPrefix("file \"weights.bin\" changed: signed sha256 "))
    }

    @Test("the wrong key with a hint is key_hint_mismatch; without a hint it is signature_invalid")
    func wrongKey() throws {
        let (bundle, _) = try signed()
        let other = BundleVerifier(publicKey: try FileSigningKey(pem: Fixtures.p384SEC1).publicKey)
        expectError("key_hint_mismatch") { _ = try other.verify(bundle: bundle) }
        let noHint = try TestSupport.editBundle(bundle) { object in
            var material = object["verificationMaterial"] as? [String: Any] ?? [:]
            material["publicKey"] = [String: Any]()
            object["verificationMaterial"] = material
        }
        expectError("signature_invalid") { _ = try other.verify(bundle: noHint) }
    }

    @Test("a tampered payload is payload_tampered, a tampered signature signature_invalid or payload_tampered")
    func tampering() throws {
        let (bundle, verifier) = try signed()
        var payload = try TestSupport.payload(of: bundle)
        payload[payload.count / 2] ^= 0x01
        let tamperedPayload = try TestSupport.editBundle(bundle) { object in
            var envelope = object["dsseEnvelope"] as? [String: Any] ?? [:]
            envelope["payload"] = Data(payload).base64EncodedString()
            object["dsseEnvelope"] = envelope
        }
        expectError("payload_tampered") { _ = try verifier.verify(bundle: tamperedPayload) }

        let envelope = try BundleEnvelope.parse(bundle)
        var flipped = envelope.signature
        flipped[flipped.count - 1] ^= 0x01
        let garbage: [UInt8] = [0x30, 0x03, 0x02, 0x01, 0x01]
        for (signature, code) in [(flipped, "payload_tampered"), (garbage, "signature_invalid"), (Array(repeating: 7, count: 64), "signature_invalid")] {
            let tampered = try TestSupport.editBundle(bundle) { object in
                object["dsseEnvelope"] = ["payload": Data(envelope.payload).base64EncodedString(),
                                          "payloadType": envelope.payloadType,
                                          "signatures": [["sig": Data(signature).base64EncodedString(), "keyid": ""]]]
            }
            expectError(code) { _ = try verifier.verify(bundle: tampered) }
        }
    }

    @Test("a mismatched key hint is refused even when the signature is good")
    func hintMismatch() throws {
        let (bundle, verifier) = try signed()
        let edited = Array(String(decoding: bundle, as: UTF8.self)
            .replacingOccurrences(of: Fixtures.p256Hint, with: String(repeating: "0", count: 64)).utf8)
        expectError("key_hint_mismatch") { _ = try verifier.verify(bundle: edited) }
    }

    @Test("malformed bundles are exit-code-2 errors", arguments: [
        ("", "malformed_bundle"), ("[]", "malformed_bundle"), ("{", "malformed_bundle"),
        (#"{"mediaType":"x","verificationMaterial":{},"dsseEnvelope":{}}"#, "unsupported_bundle"),
        (#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","mediaType":"x"}"#, "malformed_bundle"),
        (#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[]}}"#, "malformed_bundle"),
        (#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"dsseEnvelope":{"payload":"e30","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MA=="}]}}"#, "malformed_bundle"),
        (#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MA=="},{"sig":"MA=="}]}}"#, "unsupported_bundle"),
        (#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{}},"dsseEnvelope":{}}"#, "unsupported_bundle"),
        (#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"tlogEntries":[]},"dsseEnvelope":{}}"#, "unsupported_bundle"),
        (#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"messageSignature":{}}"#, "unsupported_bundle"),
        (#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MA=="}]},"extra":1}"#, "malformed_bundle"),
    ])
    func malformed(text: String, code: String) throws {
        let (_, verifier) = try signed()
        do {
            _ = try verifier.verify(bundle: Array(text.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.code == code, "\(error)")
            #expect(error.isUnreadableInput)
            #expect(error.exitCode == 2)
        }
    }

    @Test("an unreadable bundle file is malformed_bundle")
    func unreadableFile() throws {
        let (_, verifier) = try signed()
        expectError("malformed_bundle") { _ = try verifier.verify(bundleAtPath: "/nonexistent/model.sig") }
    }

    @Test("signed statements with wrong types or inconsistent content are refused")
    func statementChecks() throws {
        let key = try FileSigningKey(pem: Fixtures.p256PKCS8)
        let verifier = BundleVerifier(publicKey: key.publicKey)
        let good = String(decoding: try TestSupport.payload(of: try signed().bundle), as: UTF8.self)
        let firstDigest = Hex.encode(SignedResource.sortedInModelSigningOrder(Self.model)[0].sha256)
        let cases: [(String, String)] = [
            (good.replacingOccurrences(of: "Statement/v1", with: "Statement/v0.1"), "statement_type_mismatch"),
            (good.replacingOccurrences(of: "signature/v1.0", with: "Digests/v0.1"), "predicate_type_mismatch"),
            (good.replacingOccurrences(of: firstDigest, with: String(repeating: "a", count: 64)), "root_digest_mismatch"),
            (good.replacingOccurrences(of: "\"files\"", with: "\"shards\""), "unsupported_serialization"),
            (good.replacingOccurrences(of: "\"hash_type\": \"sha256\"", with: "\"hash_type\": \"blake2\""), "unsupported_serialization"),
            (good.replacingOccurrences(of: "\"config.json\"", with: "\"../config.json\""), "malformed_statement"),
            (good.replacingOccurrences(of: "\"config.json\"", with: "\"weights.bin\""), "malformed_statement"),
            (good.replacingOccurrences(of: firstDigest, with: firstDigest.uppercased()), "malformed_statement"),
            (good.replacingOccurrences(of: "\"allow_symlinks\": false", with: "\"allow_symlinks\": \"false\""), "malformed_statement"),
            ("not json", "malformed_statement"),
            ("{\"_type\":1}", "malformed_statement"),
        ]
        for (payload, code) in cases {
            #expect(payload != good || code == "malformed_statement")
            let bundle = try bundle(payload: payload, key: key)
            expectError(code) { _ = try verifier.verify(bundle: bundle) }
        }
        let otherType = try bundle(payload: good, key: key, payloadType: "application/json")
        expectError("payload_type_mismatch") { _ = try verifier.verify(bundle: otherType) }
        // Unknown predicate fields are ignored (the v1.0 predicate asks verifiers to).
        let extended = good.replacingOccurrences(of: "\"predicate\": {", with: "\"predicate\": {\"future\": [1],")
        #expect(try verifier.verify(bundle: try bundle(payload: extended, key: key)).resources.count == 3)
    }

    @Test("every error has a distinct stable code and a message")
    func codes() {
        let errors: [VerificationError] = [
            .malformedBundle("x"), .unsupportedBundle("x"), .malformedStatement("x"), .unsupportedSerialization("x"),
            .keyHintMismatch(bundleHint: "a", keyHint: "b"), .signatureInvalid("x"), .payloadTampered,
            .payloadTypeMismatch("x"), .statementTypeMismatch("x"), .predicateTypeMismatch("x"),
            .rootDigestMismatch(subject: "a", computed: "b"), .fileChanged(path: "p", signed: "a", actual: "b"),
            .fileMissing(path: "p"), .fileExtra(path: "p"),
        ]
        #expect(Set(errors.map(\.code)).count == errors.count)
        #expect(errors.allSatisfy { !$0.message.isEmpty && $0.code.allSatisfy { $0.isLowercase || $0 == "_" } })
        #expect(errors.filter(\.isUnreadableInput).count == 4)
    }
}
