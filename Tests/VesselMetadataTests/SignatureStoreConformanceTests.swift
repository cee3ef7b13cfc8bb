import Foundation
import SQLKit
import Testing
import VesselCore
@testable import VesselMetadata

/// The signature store's contract (trusted keys, signatures, the signed-by gate), run
/// against every backend in `MetadataHarness.backends`.
@Suite struct SignatureStoreConformanceTests {
    let model = try! ModelName("acme/m")
    let hintA = String(repeating: "a", count: 64)
    let hintB = String(repeating: "b", count: 64)

    /// Whether the `signed-by:KEY` gate lets an alias protected by it move to version 1: the
    /// governed path is the one place that asks for "a trusted signature by this key".
    func passesSignedBy(_ store: SQLMetadataStore, _ key: String) async throws -> Bool {
        let alias = "signed-\(key)"
        _ = try await store.protect(ProtectRequest(scope: model.description, alias: alias, role: .contributor, requireApproval: false, gates: ["signed-by:\(key)"]), change: MetadataHarness.admin)
        // From nowhere each time: a move to where the alias already points is applied unjudged.
        _ = try? await MetadataHarness.removeAlias(store, model, alias)
        let result = try await MetadataHarness.setAlias(store, model, alias, 1)
        #expect(result.status == .applied || result.failures.map(\.rule) == ["signed-by:\(key)"], "\(result.failures)")
        return result.status == .applied
    }

    @Test(arguments: MetadataHarness.backends)
    func trustedKeysAreNamedUniqueAndAudited(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let added = try await store.addTrustedKey(name: "release", hint: hintA, curve: "P-256", publicKeyPEM: "PEM-A", change: MetadataHarness.admin)
            #expect(added.name == "release" && added.hint == hintA && added.createdBy == "admin")
            await expectCode(.alreadyExists) { _ = try await store.addTrustedKey(name: "release", hint: hintB, curve: "P-256", publicKeyPEM: "PEM-B", change: MetadataHarness.admin) }
            await expectCode(.alreadyExists) { _ = try await store.addTrustedKey(name: "other", hint: hintA, curve: "P-256", publicKeyPEM: "PEM-A", change: MetadataHarness.admin) }
            await expectCode(.invalidArgument) { _ = try await store.addTrustedKey(name: "Bad Name", hint: hintB, curve: "P-256", publicKeyPEM: "PEM-B", change: MetadataHarness.admin) }
            #expect(try await store.trustedKeys().map(\.name) == ["release"])
            try await store.removeTrustedKey(name: "release", change: MetadataHarness.admin)
            await expectCode(.notFound) { try await store.removeTrustedKey(name: "release", change: MetadataHarness.admin) }
            #expect(try await store.trustedKeys().isEmpty)
            let actions = try await store.auditEntries(model: nil, limit: 100, cursor: nil).items.map(\.action)
            #expect(actions.filter { $0.hasPrefix("key.") } == ["key.add", "key.remove"])
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func signaturesAreStoredWithAuditAndEvent(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, sql in
            let version = try await MetadataHarness.commit(store, model)
            _ = try await store.addTrustedKey(name: "release", hint: hintA, curve: "P-256", publicKeyPEM: "PEM-A", change: MetadataHarness.admin)
            let trusted = try await store.addSignature(model: model, version: 1, digest: version.digest, keyHint: hintA, keyName: "release", bundle: "{\"a\":1}", change: MetadataHarness.admin)
            let unknown = try await store.addSignature(model: model, version: 1, digest: version.digest, keyHint: hintB, keyName: nil, bundle: "{\"b\":2}", change: MetadataHarness.admin)
            #expect(trusted.status == .trusted && trusted.keyName == "release")
            #expect(unknown.status == .unverified && unknown.keyName == nil)
            // A key name whose hint does not match is not trusted.
            let mismatched = try await store.addSignature(model: model, version: 1, digest: version.digest, keyHint: hintB, keyName: "release", bundle: "{}", change: MetadataHarness.admin)
            #expect(mismatched.status == .unverified)

            let listed = try await store.signatures(model: model, version: 1)
            #expect(listed.map(\.id) == [trusted.id, unknown.id, mismatched.id])
            #expect(try await store.signatureBundle(model: model, version: 1, id: unknown.id) == "{\"b\":2}")
            await expectCode(.notFound) { _ = try await store.signatureBundle(model: model, version: 1, id: "nope") }
            await expectCode(.notFound) { _ = try await store.signatures(model: model, version: 7) }
            await expectCode(.conflict) { _ = try await store.addSignature(model: model, version: 1, digest: MetadataHarness.digest(5), keyHint: hintA, keyName: nil, bundle: "{}", change: MetadataHarness.admin) }
            await expectCode(.notFound) { _ = try await store.addSignature(model: model, version: 2, digest: version.digest, keyHint: hintA, keyName: nil, bundle: "{}", change: MetadataHarness.admin) }

            #expect(try await passesSignedBy(store, "release"))
            #expect(try await !passesSignedBy(store, "other"))

            let events = try await sql.read { db in
                try await db.raw("SELECT type FROM events WHERE type = 'signature.added'").all().count
            }
            #expect(events == 3)
            let audit = try await store.auditEntries(model: model, limit: 100, cursor: nil).items.filter { $0.action == "signature.add" }
            #expect(audit.count == 3 && audit.allSatisfy { $0.target == "version/acme/m:1" })
            #expect(try await store.verifyAuditChain().ok)

            // Removing the key withdraws trust; re-adding another key under the name does not revive it.
            try await store.removeTrustedKey(name: "release", change: MetadataHarness.admin)
            #expect(try await !passesSignedBy(store, "release"))
            #expect(try await store.signatures(model: model, version: 1).allSatisfy { $0.status == .unverified && $0.keyName == nil })
            _ = try await store.addTrustedKey(name: "release", hint: hintB, curve: "P-256", publicKeyPEM: "PEM-B", change: MetadataHarness.admin)
            #expect(try await !passesSignedBy(store, "release"))
            // A deleted version has no signatures to show.
            _ = try? await MetadataHarness.removeAlias(store, model, "signed-release")
            _ = try await store.changeState(model: model, version: 1, to: .deleted, change: MetadataHarness.admin)
            await expectCode(.notFound) { _ = try await store.signatures(model: model, version: 1) }
        }
    }
}
