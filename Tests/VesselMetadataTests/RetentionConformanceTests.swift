import Foundation
import Synchronization
import Testing
import VesselCore
@testable import VesselMetadata

/// The retention store's contract (issue 26), on every backend in `MetadataHarness.backends`:
/// policies and holds with their audit, when blobs were last named, and the sweep's
/// transaction that removes a blob row only when nothing references it.
@Suite struct RetentionConformanceTests {
    let model = try! ModelName("acme/m")

    /// A store on `sql` whose clock is `clock`.
    final class Clock: Sendable {
        let now = Mutex<Int64>(1_000_000)
        func set(_ value: Int64) { now.withLock { $0 = value } }
        func read() -> Int64 { now.withLock { $0 } }
    }

    func withClockedStore(_ backend: String, _ body: (SQLMetadataStore, Clock) async throws -> Void) async throws {
        try await MetadataHarness.withStore(backend) { _, sql in
            let clock = Clock()
            try await body(SQLMetadataStore(backend: sql, clock: { clock.read() }), clock)
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func policiesAreSetListedReplacedAndRemovedWithTheirAudit(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let set = try RetentionPolicyRequest(scope: "acme/*", keepLast: 5, keepFor: "30d").validated()
            _ = try await store.setRetentionPolicy(scope: set.scope, policy: set.policy, change: MetadataHarness.admin)
            let replace = try RetentionPolicyRequest(scope: "acme/*", draftsExpireAfter: "24h").validated()
            _ = try await store.setRetentionPolicy(scope: replace.scope, policy: replace.policy, change: MetadataHarness.admin)
            let policies = try await store.retentionPolicies()
            #expect(policies.count == 1 && policies[0].keepLast == nil && policies[0].draftsExpireAfter == 86_400 && policies[0].updatedBy == "admin")
            try await store.removeRetentionPolicy(scope: .owner("acme"), change: MetadataHarness.admin)
            #expect(try await store.retentionPolicies().isEmpty)
            await expectCode(.notFound) { try await store.removeRetentionPolicy(scope: .owner("acme"), change: MetadataHarness.admin) }
            let audit = try await store.auditEntries(model: nil, limit: 100, cursor: nil).items.filter { $0.target == "retention/acme/*" }
            #expect(audit.map(\.action).sorted() == ["retention.remove", "retention.set", "retention.set"])
            #expect(audit.contains { $0.before == "keep-last=5 keep-for=30d" && $0.after == "drafts-expire-after=1d" })
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func holdsNameLiveVersionsOnly(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            _ = try await MetadataHarness.commit(store, model, files: [("a", 1)])
            _ = try await MetadataHarness.commit(store, model, files: [("b", 2)])
            _ = try await store.hold(model: model, version: 1, reason: "legal", change: MetadataHarness.admin)
            #expect(try await store.holds().map { "\($0.model):\($0.version) \($0.reason)" } == ["acme/m:1 legal"])
            _ = try await store.changeState(model: model, version: 2, to: .deleted, change: MetadataHarness.admin)
            await expectCode(.notFound) { _ = try await store.hold(model: model, version: 2, reason: "x", change: MetadataHarness.admin) }
            await expectCode(.notFound) { _ = try await store.hold(model: model, version: 9, reason: "x", change: MetadataHarness.admin) }
            let subjects = try await store.retentionSubjects()
            #expect(subjects.map(\.candidate.number) == [1] && subjects[0].candidate.held)
            try await store.unhold(model: model, version: 1, change: MetadataHarness.admin)
            await expectCode(.notFound) { try await store.unhold(model: model, version: 1, change: MetadataHarness.admin) }
            #expect(try await store.holds().isEmpty)
            let actions = try await store.auditEntries(model: model, limit: 100, cursor: nil).items.map(\.action)
            #expect(actions.contains("version.hold") && actions.contains("version.unhold"))
        }
    }

    /// A blob's last-named time moves with every write that names it.
    @Test(arguments: MetadataHarness.backends)
    func draftsCommitsUploadsAndProofsNameBlobs(_ backend: String) async throws {
        try await withClockedStore(backend) { store, clock in
            let manifest = try MetadataHarness.manifest([("w", 7)])
            let digest = MetadataHarness.digest(7)
            clock.set(1_000)
            try await store.recordBlob(digest, size: 10, proof: BlobProof(model: model, principal: "alice"))
            #expect(try await store.lastNamed(digest) == 1_000)
            clock.set(2_000)
            let draft = try await store.createDraft(model: model, manifest: manifest, digest: MetadataHarness.digest(99), description: "", change: MetadataHarness.admin)
            #expect(try await store.lastNamed(digest) == 2_000)
            clock.set(3_000)
            _ = try await store.commitDraft(model: model, draftID: draft, findings: [], analysis: VersionAnalysis(), change: MetadataHarness.admin)
            #expect(try await store.lastNamed(digest) == 3_000)
            clock.set(4_000)
            _ = try await store.startUploadSession(model: model, digest: digest, size: 10, chunkSize: 5, principal: "alice", ttl: 100)
            #expect(try await store.lastNamed(digest) == 4_000)
            clock.set(3_500)
            _ = try await store.beginBlobUpload(digest)
            #expect(try await store.lastNamed(digest) == 4_000, "a name never moves back")
        }
    }

    /// The sweep's transaction removes a row only when no version, draft, live upload session,
    /// recent proof or running backup needs it and nothing named it since the cutoff.
    @Test(arguments: MetadataHarness.backends)
    func aBlobRowGoesOnlyWhenNothingReferencesIt(_ backend: String) async throws {
        try await withClockedStore(backend) { store, clock in
            clock.set(1_000)
            _ = try await MetadataHarness.commit(store, model, files: [("a", 1), ("shared", 3)])
            _ = try await MetadataHarness.commit(store, model, files: [("b", 2), ("shared", 3)])
            clock.set(2_000)
            _ = try await store.changeState(model: model, version: 1, to: .deleted, change: MetadataHarness.admin)
            let now: Int64 = 10_000
            // Named after the cutoff: stays.
            #expect(try await store.beginSweep(MetadataHarness.digest(1), cutoff: 500, now: now) == nil)
            #expect(try await store.sweepCandidates(cutoff: now, now: now, after: nil, limit: 10).map(\.digest) == [MetadataHarness.digest(1)])
            // Held by version 2: stays.
            #expect(try await store.beginSweep(MetadataHarness.digest(3), cutoff: now, now: now) == nil)
            // A running backup: stays.
            try await store.registerBackup(id: "b1", holder: "h", now: now, ttl: 1_000)
            #expect(try await store.beginSweep(MetadataHarness.digest(1), cutoff: now, now: now) == nil)
            try await store.finishBackup(id: "b1")
            // A live upload session: stays.
            clock.set(1_500)
            let session = try await store.startUploadSession(model: model, digest: MetadataHarness.digest(1), size: 10, chunkSize: 5, principal: "alice", ttl: 100_000)
            #expect(try await store.beginSweep(MetadataHarness.digest(1), cutoff: now, now: now) == nil)
            try await store.deleteUploadSession(id: session.session.id)
            // A proof of possession younger than the cutoff: stays.
            clock.set(1_600)
            try await store.recordBlob(MetadataHarness.digest(1), size: 10, proof: BlobProof(model: model, principal: "alice"))
            #expect(try await store.beginSweep(MetadataHarness.digest(1), cutoff: 1_600, now: now) == nil)
            // Nothing: goes, with its proofs; an upload of it waits until the object is gone.
            #expect(try await store.beginSweep(MetadataHarness.digest(1), cutoff: now, now: now) == 10)
            #expect(try await store.blobSize(MetadataHarness.digest(1)) == nil)
            #expect(try await store.unfinishedSweeps() == [MetadataHarness.digest(1)])
            await expectCode(.unavailable) { _ = try await store.beginBlobUpload(MetadataHarness.digest(1)) }
            try await store.finishSweep(MetadataHarness.digest(1))
            #expect(try await store.unfinishedSweeps().isEmpty)
            let seq = try await store.beginBlobUpload(MetadataHarness.digest(1))
            try await store.recordUploadedBlob(MetadataHarness.digest(1), size: 10, proof: nil, sweepSeq: seq)
            #expect(try await store.blobSize(MetadataHarness.digest(1)) == 10)
        }
    }

    /// An upload that began before a sweep of its digest is refused when it records the blob:
    /// the sweep may have removed the object it wrote.
    @Test(arguments: MetadataHarness.backends)
    func anUploadOverlappingASweepIsRefused(_ backend: String) async throws {
        try await withClockedStore(backend) { store, clock in
            clock.set(1_000)
            try await store.recordBlob(MetadataHarness.digest(5), size: 10)
            let seq = try await store.beginBlobUpload(MetadataHarness.digest(5))
            #expect(try await store.beginSweep(MetadataHarness.digest(5), cutoff: 2_000, now: 2_000) == 10)
            try await store.finishSweep(MetadataHarness.digest(5))
            await expectCode(.unavailable) { try await store.recordUploadedBlob(MetadataHarness.digest(5), size: 10, proof: nil, sweepSeq: seq) }
            #expect(try await store.blobSize(MetadataHarness.digest(5)) == nil)
            // Orphans: an object without a row is claimed once, not while a row exists.
            #expect(try await store.claimOrphans([MetadataHarness.digest(5)], cutoff: 2_000) == [MetadataHarness.digest(5)])
            #expect(try await store.claimOrphans([MetadataHarness.digest(5)], cutoff: 2_000).isEmpty, "already being swept")
            try await store.finishSweep(MetadataHarness.digest(5))
            try await store.recordBlob(MetadataHarness.digest(6), size: 10)
            #expect(try await store.claimOrphans([MetadataHarness.digest(6)], cutoff: 2_000).isEmpty)
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func retentionDeletesAreAuditedAsTheSystemAndSkipWhatBecameKept(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            for byte in 1...3 { _ = try await MetadataHarness.commit(store, model, files: [("w", UInt8(byte))]) }
            try await MetadataHarness.setAlias(store, model, "prod", 2)
            #expect(try await store.deleteForRetention(model: model, version: 2, reason: "r") == false)
            #expect(try await store.deleteForRetention(model: model, version: 1, reason: "not among the newest 1 (policy acme/*)"))
            #expect(try await store.deleteForRetention(model: model, version: 1, reason: "again") == false)
            let entry = try await store.auditEntries(model: model, limit: 100, cursor: nil).items.first { $0.action == "version.delete" }
            #expect(entry?.actor == "system" && entry?.reason == "not among the newest 1 (policy acme/*)")
            let event = try await store.outboxEvents(after: 0, limit: 100).last { $0.type == "version.deleted" }
            #expect(event?.payload["actor"] == "system" && event?.payload["version"] == "1")
            #expect(try await store.retentionSubjects().map(\.candidate.number) == [2, 3])
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func anExpiredDraftCannotBeCommitted(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let draft = try await store.createDraft(model: model, manifest: try MetadataHarness.manifest([("w", 1)]), digest: MetadataHarness.digest(99),
                                                    description: "", change: MetadataHarness.admin)
            #expect(try await store.pendingDrafts().map(\.id) == [draft])
            #expect(try await store.expireDraft(model: model, id: draft))
            #expect(try await store.expireDraft(model: model, id: draft) == false)
            #expect(try await store.pendingDrafts().isEmpty)
            await expectCode(.conflict) {
                _ = try await store.commitDraft(model: model, draftID: draft, findings: [], analysis: VersionAnalysis(), change: MetadataHarness.admin)
            }
        }
    }
}
