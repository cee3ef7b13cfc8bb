import VesselCore
import Crypto
import Foundation
import Testing
@testable import VesselSigning

@Suite("Bundle writer")
struct BundleWriterTests {
    let resources = [
        TestSupport.resource("tok.json", "1"),
        TestSupport.resource("tok/v.txt", "2"),
        TestSupport.resource("a-b", "3"),
        TestSupport.resource("a/c", "4"),
        TestSupport.resource("é", "5"),
        TestSupport.resource("empty", ""),
    ]

    @Test("model-signing order compares path components, so '/' sorts before every other byte")
    func order() {
        let sorted = SignedResource.sortedInModelSigningOrder(resources).map(\.path)
        // The order model-signing 1.1.1 produced for the same names (checked with the real CLI).
        #expect(sorted == ["a/c", "a-b", "empty", "tok/v.txt", "tok.json", "é"])
        #expect(SignedResource.precedesInModelSigningOrder("a", "a/b"))
        #expect(!SignedResource.precedesInModelSigningOrder("a/b", "a"))
        #expect(!SignedResource.precedesInModelSigningOrder("x", "x"))
    }

    @Test("root digest is SHA-256 over the concatenated raw digests in order")
    func rootDigest() {
        let a = TestSupport.resource("a", "a")
        let b = TestSupport.resource("b", "b")
        #expect(BundleWriter.rootDigest(of: [a, b]) == Array(SHA256.hash(data: a.sha256 + b.sha256)))
        #expect(BundleWriter.rootDigest(of: []) == Array(SHA256.hash(data: [UInt8]())))
    }

    @Test("the bundle has model-signing's outer shape and a statement with the documented fields")
    func shape() throws {
        let key = try FileSigningKey(pem: Fixtures.p256PKCS8)
        let bundle = try BundleWriter(key: key).makeBundle(subjectName: "model", resources: resources,
                                                           additionalIgnorePaths: ["model.sig"])
        let text = String(decoding: bundle, as: UTF8.self)
        #expect(text.hasPrefix(#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"\#(Fixtures.p256Hint)"},"tlogEntries":[]},"dsseEnvelope":{"payload":""#))
        #expect(text.hasSuffix(#"","keyid":""}]}}"#))
        #expect(text.contains(#""payloadType":"application/vnd.in-toto+json","signatures":[{"sig":""#))

        let statement = try #require(try JSONSerialization.jsonObject(with: Data(TestSupport.payload(of: bundle))) as? [String: Any])
        #expect(statement["_type"] as? String == "https://in-toto.io/Statement/v1")
        #expect(statement["predicateType"] as? String == "https://model_signing/signature/v1.0")
        let subjects = try #require(statement["subject"] as? [[String: Any]])
        #expect(subjects.count == 1)
        #expect(subjects[0]["name"] as? String == "model")
        let sorted = SignedResource.sortedInModelSigningOrder(resources)
        #expect((subjects[0]["digest"] as? [String: String])?["sha256"] == Hex.encode(BundleWriter.rootDigest(of: sorted)))
        let predicate = try #require(statement["predicate"] as? [String: Any])
        let serialization = try #require(predicate["serialization"] as? [String: Any])
        #expect(serialization["method"] as? String == "files")
        #expect(serialization["hash_type"] as? String == "sha256")
        #expect(serialization["allow_symlinks"] as? Bool == false)
        #expect(serialization["ignore_paths"] as? [String] == [".git", ".gitignore", ".gitattributes", ".github", "model.sig"])
        let listed = try #require(predicate["resources"] as? [[String: String]])
        #expect(listed.map { $0["name"] ?? "" } == sorted.map(\.path))
        #expect(listed.allSatisfy { $0["algorithm"] == "sha256" })
        #expect(listed.map { $0["digest"] ?? "" } == sorted.map { Hex.encode($0.sha256) })
    }

    @Test("an empty model signs and verifies")
    func emptyModel() throws {
        let key = try FileSigningKey(pem: Fixtures.p384SEC1)
        let bundle = try BundleWriter(key: key).makeBundle(subjectName: "m", resources: [])
        let statement = try BundleVerifier(publicKey: key.publicKey).verify(bundle: bundle)
        #expect(statement.resources.isEmpty)
    }

    @Test("invalid resources are refused", arguments: [
        ("", "invalid_resource"), ("/abs", "invalid_resource"), ("a//b", "invalid_resource"), ("a/", "invalid_resource"),
        ("./a", "invalid_resource"), ("a/../b", "invalid_resource"), ("a\u{0}b", "invalid_resource"),
    ])
    func invalidPaths(path: String, code: String) throws {
        let key = try FileSigningKey(pem: Fixtures.p256PKCS8)
        do {
            _ = try BundleWriter(key: key).makeBundle(subjectName: "m", resources: [TestSupport.resource(path, "x")])
            Issue.record("accepted \(path)")
        } catch let error as BundleWriterError {
            #expect(error.code == code)
        }
    }

    @Test("duplicate paths, short digests and bad ignore paths are refused")
    func otherInvalidInput() throws {
        let writer = BundleWriter(key: try FileSigningKey(pem: Fixtures.p256PKCS8))
        #expect(throws: BundleWriterError.duplicateResource(path: "a")) {
            try writer.makeBundle(subjectName: "m", resources: [TestSupport.resource("a", "1"), TestSupport.resource("a", "2")])
        }
        #expect(throws: BundleWriterError.self) {
            try writer.makeBundle(subjectName: "m", resources: [SignedResource(path: "a", sha256: [1, 2])])
        }
        #expect(throws: BundleWriterError.self) {
            try writer.makeBundle(subjectName: "m", resources: [], additionalIgnorePaths: ["../x"])
        }
    }

    @Test("subject names and paths with quotes, backslashes and non-ASCII survive the round trip")
    func escaping() throws {
        let key = try FileSigningKey(pem: Fixtures.p256PKCS8)
        let tricky = [TestSupport.resource("q\"uote\\d/ünï\tcode", "z")]
        let bundle = try BundleWriter(key: key).makeBundle(subjectName: "na\"me\n", resources: tricky)
        let statement = try BundleVerifier(publicKey: key.publicKey).verify(bundle: bundle)
        #expect(statement.subjectName == "na\"me\n")
        #expect(statement.resources == tricky)
    }
}
