import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SQLKit
import Testing
import VesselCore
@testable import VesselServer
@testable import VesselSigning

/// Signatures attached to versions and the trusted keys that decide their status.
@Suite struct SignatureAPITests {
    static let files: [String: [UInt8]] = ["config.json": Array("{}".utf8), "w/model.safetensors": [1, 2, 3, 4], "empty": []]

    static func newKey() throws -> FileSigningKey {
        try FileSigningKey(pem: P256.Signing.PrivateKey().pemRepresentation)
    }

    static func bundle(_ key: FileSigningKey, for version: VersionInfo, resources: [SignedResource]? = nil) throws -> [UInt8] {
        let manifest = try Manifest(entries: version.manifest ?? [])
        return try BundleWriter(key: key).makeBundle(subjectName: version.model.description, resources: resources ?? manifest.signedResources, additionalIgnorePaths: [".vessel.json"])
    }

    static func post(_ client: any TestClientProtocol, _ bundle: [UInt8], version: Int = 1, _ check: @escaping @Sendable (TestResponse) throws -> Void) async throws {
        try await client.execute(uri: "/api/v1/models/acme/m/versions/\(version)/signatures", method: .post, headers: APIHarness.auth, body: ByteBuffer(bytes: bundle)) { try check($0) }
    }

    static func addKey(_ client: any TestClientProtocol, _ name: String, _ key: FileSigningKey) async throws {
        try await client.execute(uri: "/api/v1/keys", method: .post, headers: APIHarness.auth, body: APIHarness.json(AddTrustedKeyRequest(name: name, publicKey: key.publicKey.pemRepresentation))) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
        }
    }

    @Test func trustedAndUnverifiedSignaturesAreStoredAsIs() async throws {
        try await APIHarness.with { harness, client in
            let version = try await APIHarness.push(client, model: "acme/m", files: Self.files)
            let release = try Self.newKey()
            let stranger = try Self.newKey()
            try await Self.addKey(client, "release", release)

            let trustedBundle = try Self.bundle(release, for: version)
            let trusted = try await client.execute(uri: "/api/v1/models/acme/m/versions/1/signatures", method: .post, headers: APIHarness.auth, body: ByteBuffer(bytes: trustedBundle)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return try APIHarness.decode(SignatureInfo.self, response)
            }
            #expect(trusted.status == .trusted && trusted.keyName == "release" && trusted.keyHint == release.publicKey.hint && trusted.signedBy == "admin")

            let unverified = try await client.execute(uri: "/api/v1/models/acme/m/versions/1/signatures", method: .post, headers: APIHarness.auth, body: ByteBuffer(bytes: try Self.bundle(stranger, for: version))) { response in
                #expect(response.status == .created)
                return try APIHarness.decode(SignatureInfo.self, response)
            }
            #expect(unverified.status == .unverified && unverified.keyName == nil && unverified.keyHint == stranger.publicKey.hint)

            try await client.execute(uri: "/api/v1/models/acme/m/versions/1/signatures", method: .get, headers: APIHarness.auth) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("\"key_name\":null") && text.contains("\"next_cursor\":null"), "\(text)")
                let page = try APIHarness.decode(Page<SignatureInfo>.self, response)
                #expect(page.items.map(\.id) == [trusted.id, unverified.id])
                #expect(page.items.map(\.status) == [.trusted, .unverified])
            }
            try await client.execute(uri: "/api/v1/models/acme/m/versions/1/signatures/\(trusted.id)", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .ok)
                #expect(Array(response.body.readableBytesView) == trustedBundle)
            }
            try await client.execute(uri: "/api/v1/models/acme/m/versions/1/signatures/nope", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .notFound)
            }
            #expect(try await harness.registry.store.signatures(model: try ModelName("acme/m"), version: 1).contains { $0.status == .trusted && $0.keyName == "release" })
            let events = try await harness.registry.backend.read { db in
                try await db.raw("SELECT type FROM events WHERE type = 'signature.added'").all().count
            }
            #expect(events == 2)
            let audit = try await harness.registry.store.auditEntries(model: try ModelName("acme/m"), limit: 100, cursor: nil).items
            #expect(audit.filter { $0.action == "signature.add" }.count == 2)
        }
    }

    @Test func bundlesThatDoNotCoverTheVersionAreRefused() async throws {
        try await APIHarness.with { _, client in
            let version = try await APIHarness.push(client, model: "acme/m", files: Self.files)
            let other = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Array("{\"x\":1}".utf8)])
            let key = try Self.newKey()
            try await Self.addKey(client, "release", key)
            let manifest = try Manifest(entries: version.manifest ?? []).signedResources

            // One file more, one file less, a changed digest, a renamed file.
            let extra = manifest + [SignedResource(path: "extra.bin", sha256: Array(SHA256.hash(data: [9])))]
            let fewer = Array(manifest.dropLast())
            let changed = manifest.map { $0.path == "config.json" ? SignedResource(path: $0.path, sha256: Array(SHA256.hash(data: [7]))) : $0 }
            let renamed = manifest.map { $0.path == "empty" ? SignedResource(path: "empty2", sha256: $0.sha256) : $0 }
            for (resources, expected) in [(extra, "extra.bin"), (fewer, "w/model.safetensors"), (changed, "config.json"), (renamed, "empty")] {
                try await Self.post(client, try Self.bundle(key, for: version, resources: resources)) { response in
                    #expect(response.status == .unprocessableContent)
                    let body = try APIHarness.decode(ErrorBody.self, response)
                    #expect(body.error.code == "not_verified")
                    #expect(body.error.message.contains("does not cover acme/m:1 exactly") && body.error.message.contains(expected), "\(body.error.message)")
                }
            }
            // A signature of version 2 attached to version 1.
            try await Self.post(client, try Self.bundle(key, for: other)) { response in
                #expect(response.status == .unprocessableContent)
                #expect(APIHarness.errorCode(response) == "not_verified")
            }
            // Resources equal the manifest, but the subject names another root digest.
            let payload = BundleWriter.statementPayload(subjectName: "acme/m", resources: manifest, ignorePaths: BundleFormat.defaultIgnorePaths)
            let forgedRoot = String(repeating: "ab", count: 32)
            let text = String(decoding: payload, as: UTF8.self).replacingOccurrences(of: version.digest.hex, with: forgedRoot)
            #expect(text.contains(forgedRoot))
            let forged = Array(text.utf8)
            let signature = try key.sign(DSSE.preAuthenticationEncoding(payloadType: BundleFormat.payloadType, payload: forged))
            try await Self.post(client, BundleWriter.bundleJSON(payload: forged, signature: signature, hint: key.publicKey.hint)) { response in
                #expect(response.status == .unprocessableContent)
                let body = try APIHarness.decode(ErrorBody.self, response)
                #expect(body.error.code == "not_verified" && body.error.message.contains("subject digest"), "\(body.error.message)")
            }
            // A bundle naming the trusted key whose signature was altered.
            var tampered = try Self.bundle(key, for: version)
            let marker = Array("\"sig\":\"".utf8)
            if let start = tampered.firstRange(of: marker)?.upperBound {
                tampered[start + 5] = tampered[start + 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            }
            try await Self.post(client, tampered) { response in
                #expect(response.status == .unprocessableContent)
                let body = try APIHarness.decode(ErrorBody.self, response)
                #expect(body.error.code == "not_verified" && body.error.message.contains("release"), "\(body.error.message)")
            }
            // Not a bundle at all; an unknown version.
            try await Self.post(client, Array("{\"hello\": 1}".utf8)) { response in
                #expect(response.status == .badRequest)
                #expect(APIHarness.errorCode(response) == "invalid_argument")
            }
            try await Self.post(client, try Self.bundle(key, for: version), version: 9) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/models/acme/m/versions/1/signatures", method: .get, headers: APIHarness.auth) { response in
                let page = try APIHarness.decode(Page<SignatureInfo>.self, response)
                #expect(page.items.isEmpty)
            }
        }
    }

    @Test func trustedKeysCRUD() async throws {
        try await APIHarness.with { harness, client in
            let key = try Self.newKey()
            try await Self.addKey(client, "release", key)
            try await client.execute(uri: "/api/v1/keys", method: .post, headers: APIHarness.auth, body: APIHarness.json(AddTrustedKeyRequest(name: "release", publicKey: try Self.newKey().publicKey.pemRepresentation))) { response in
                #expect(response.status == .conflict)
                #expect(APIHarness.errorCode(response) == "already_exists")
            }
            try await client.execute(uri: "/api/v1/keys", method: .post, headers: APIHarness.auth, body: APIHarness.json(AddTrustedKeyRequest(name: "again", publicKey: key.publicKey.pemRepresentation))) { response in
                #expect(response.status == .conflict)
            }
            try await client.execute(uri: "/api/v1/keys", method: .post, headers: APIHarness.auth, body: APIHarness.json(AddTrustedKeyRequest(name: "junk", publicKey: "not a key"))) { response in
                #expect(response.status == .badRequest)
                #expect(APIHarness.errorCode(response) == "invalid_argument")
            }
            try await client.execute(uri: "/api/v1/keys", method: .get, headers: APIHarness.auth) { response in
                let page = try APIHarness.decode(Page<TrustedKeyInfo>.self, response)
                #expect(page.items.map(\.name) == ["release"])
                #expect(page.items.first?.hint == key.publicKey.hint && page.items.first?.curve == "P-256")
                #expect(page.items.first?.publicKey == key.publicKey.pemRepresentation)
            }
            try await client.execute(uri: "/api/v1/keys/release", method: .delete, headers: APIHarness.auth) { #expect($0.status == .noContent) }
            try await client.execute(uri: "/api/v1/keys/release", method: .delete, headers: APIHarness.auth) { response in
                #expect(response.status == .notFound)
            }
            let actions = try await harness.registry.store.auditEntries(model: nil, limit: 100, cursor: nil).items.map(\.action)
            #expect(actions.contains("key.add") && actions.contains("key.remove"))
            // The key routes are admin routes.
            let routes = harness.registry.makeRouter().routes.filter { $0.contains("/api/v1/keys") }
            #expect(routes.count == 3 && routes.allSatisfy { $0.hasSuffix(" admin") })
        }
    }
}
