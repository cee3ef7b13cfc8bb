import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
import VesselMetadata
@testable import VesselServer

/// The lifecycle job through the API (issue 26): a model of twenty versions under a policy
/// loses exactly the versions no rule keeps, the dry run lists exactly what the run does, the
/// swept blobs leave the store while every kept version's bytes stay; a backup holds the sweep
/// back; a second run meets the lease; bad inputs are refused.
@Suite struct GarbageCollectionAPITests {
    static func gc(_ client: any TestClientProtocol, dryRun: Bool) async throws -> GCReport {
        try await client.execute(uri: "/api/v1/admin/gc", method: .post, headers: APIHarness.auth, body: APIHarness.json(GCRequest(dryRun: dryRun))) { response in
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            return try APIHarness.decode(GCReport.self, response)
        }
    }

    /// The `gc.completed` events in the outbox, oldest first.
    static func gcEvents(_ harness: APIHarness) async throws -> [OutboxEvent] {
        try await harness.registry.store.outboxEvents(after: 0, limit: 10_000).filter { $0.type == "gc.completed" }
    }

    static func file(_ version: Int) -> [UInt8] { Array("weights of version \(version)\n".utf8) }
    static let shared = Array("a config every version shares\n".utf8)

    @Test func twentyVersionsUnderAPolicy() async throws {
        try await APIHarness.with(configure: { $0.gcGrace = .zero }) { harness, client in
            for version in 1...20 {
                _ = try await APIHarness.push(client, model: "acme/m", files: ["w.bin": Self.file(version), "config.json": Self.shared])
            }
            try await client.execute(uri: "/api/v1/models/acme/m/aliases/production", method: .put, headers: APIHarness.auth, body: APIHarness.json(SetAliasRequest(version: 3))) { response in
                #expect(response.status == .ok || response.status == .created, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/api/v1/models/acme/m/versions/7/hold", method: .put, headers: APIHarness.auth, body: APIHarness.json(HoldRequest(reason: "audit 2026-12"))) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/api/v1/models/acme/m/versions/11/archive", method: .post, headers: APIHarness.auth) { response in
                #expect(response.status == .ok)
            }
            // No policy: nothing goes.
            #expect(try await Self.gc(client, dryRun: true).versions.isEmpty)
            try await client.execute(uri: "/api/v1/retention", method: .put, headers: APIHarness.auth,
                                     body: APIHarness.json(RetentionPolicyRequest(scope: "acme/*", keepLast: 5))) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
            let dry = try await Self.gc(client, dryRun: true)
            let expected = [1, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15]
            #expect(dry.versions.map(\.version) == expected)
            #expect(dry.versions.allSatisfy { $0.model == "acme/m" && $0.reason == "not among the newest 5 (policy acme/*)" })
            #expect(dry.blobs == expected.count && dry.bytes == Int64(expected.map { Self.file($0).count }.reduce(0, +)))
            // The dry run changed nothing.
            #expect(try await harness.registry.blobs.size(of: APIHarness.digest(Self.file(1))) != nil)

            // The dry runs announced nothing; the run announces gc.completed with its counts, once.
            #expect(try await Self.gcEvents(harness).isEmpty)
            let run = try await Self.gc(client, dryRun: false)
            #expect(run.versions == dry.versions && run.blobs == dry.blobs && run.bytes == dry.bytes && !run.dryRun)
            let completed = try await Self.gcEvents(harness)
            #expect(completed.count == 1)
            #expect(completed.first?.model == "" && completed.first?.payload["actor"] == "system")
            #expect(completed.first?.payload["versions"] == String(expected.count) && completed.first?.payload["drafts"] == "0")
            #expect(completed.first?.payload["blobs"] == String(run.blobs) && completed.first?.payload["bytes"] == String(run.bytes))
            for version in 1...20 {
                let stored = try await harness.registry.blobs.size(of: APIHarness.digest(Self.file(version)))
                #expect((stored == nil) == expected.contains(version), "version \(version)")
                #expect(try await harness.registry.store.blobSize(APIHarness.digest(Self.file(version))) == (expected.contains(version) ? nil : UInt64(Self.file(version).count)))
            }
            #expect(try await harness.registry.blobs.size(of: APIHarness.digest(Self.shared)) != nil)
            // A kept version still pulls byte-identical.
            try await client.execute(uri: "/api/v1/models/acme/m/blobs/\(APIHarness.digest(Self.file(3)))", method: .get, headers: APIHarness.auth) { response in
                #expect(Array(buffer: response.body) == Self.file(3))
            }
            // Audited as the system, naming the policy; nothing left for a second run.
            let audit = try await harness.registry.store.auditEntries(model: try ModelName("acme/m"), limit: 200, cursor: nil).items.filter { $0.action == "version.delete" }
            #expect(audit.count == expected.count && audit.allSatisfy { $0.actor == "system" && $0.reason?.contains("policy acme/*") == true })
            let again = try await Self.gc(client, dryRun: false)
            #expect(again.versions.isEmpty && again.blobs == 0)
            try await client.execute(uri: "/api/v1/admin/gc", method: .get, headers: APIHarness.auth) { response in
                let runs = try APIHarness.decode(Page<GCRunInfo>.self, response)
                #expect(runs.items.count == 4 && runs.items.contains { $0.versions == expected.count && !$0.dryRun })
            }
        }
    }

    @Test func aRunningBackupHoldsTheSweepBackAndARunMeetsTheLease() async throws {
        try await APIHarness.with(configure: { $0.gcGrace = .zero }) { harness, client in
            let v1 = try await APIHarness.push(client, model: "acme/m", files: ["w.bin": Self.file(1)])
            _ = try await APIHarness.push(client, model: "acme/m", files: ["w.bin": Self.file(2)])
            try await client.execute(uri: "/api/v1/models/acme/m/versions/\(v1.version)", method: .delete, headers: APIHarness.auth) { response in
                #expect(response.status == .ok)
            }
            let store = harness.registry.store
            try await store.registerBackup(id: "test", holder: "elsewhere", now: Timestamp.micros(Date()), ttl: 600_000_000)
            let held = try await Self.gc(client, dryRun: false)
            #expect(held.blobs == 0 && held.sweepSkipped?.contains("backup:test") == true)
            #expect(try await Self.gcEvents(harness).last?.payload["sweep_skipped"]?.contains("backup:test") == true)
            #expect(try await harness.registry.blobs.size(of: APIHarness.digest(Self.file(1))) != nil)
            try await store.finishBackup(id: "test")
            let swept = try await Self.gc(client, dryRun: false)
            #expect(swept.blobs == 1 && swept.sweepSkipped == nil)
            #expect(try await harness.registry.blobs.size(of: APIHarness.digest(Self.file(1))) == nil)

            #expect(try await store.acquireLease(GarbageCollector.leaseName, holder: "replica-b/run", now: Timestamp.micros(Date()), ttl: 600_000_000))
            try await client.execute(uri: "/api/v1/admin/gc", method: .post, headers: APIHarness.auth, body: APIHarness.json(GCRequest())) { response in
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body).contains("replica-b/run"))
            }
        }
    }

    /// A crash between a blob row's removal and its object's leaves the object, marked
    /// sweeping; the next run removes it and counts it (blobs, bytes) in its report, in
    /// `gc.completed` and on `/metrics`, as the dry run before it says. An object the crashed
    /// run had already removed is not counted again.
    @Test func objectsOfACrashedSweepAreCountedByTheRunThatRemovesThem() async throws {
        try await APIHarness.with(configure: { $0.gcGrace = .zero }) { harness, client in
            for version in 1...3 { _ = try await APIHarness.push(client, model: "acme/m", files: ["w.bin": Self.file(version)]) }
            for version in 1...2 {
                try await client.execute(uri: "/api/v1/models/acme/m/versions/\(version)", method: .delete, headers: APIHarness.auth) { response in
                    #expect(response.status == .ok)
                }
            }
            // The crashed run: both rows went; the object of version 2's blob went too, version 1's did not.
            let store = harness.registry.store
            let now = Timestamp.micros(Date())
            let left = APIHarness.digest(Self.file(1)), gone = APIHarness.digest(Self.file(2))
            #expect(try await store.beginSweep(left, cutoff: now + 1, now: now) == UInt64(Self.file(1).count))
            #expect(try await store.beginSweep(gone, cutoff: now + 1, now: now) == UInt64(Self.file(2).count))
            try await harness.registry.blobs.delete(gone)
            #expect(try await store.unfinishedSweeps().count == 2)

            let dry = try await Self.gc(client, dryRun: true)
            #expect(dry.blobs == 1 && dry.bytes == Int64(Self.file(1).count), "\(dry)")
            let run = try await Self.gc(client, dryRun: false)
            #expect(run.blobs == 1 && run.bytes == Int64(Self.file(1).count), "\(run)")
            #expect(try await harness.registry.blobs.size(of: left) == nil)
            #expect(try await store.unfinishedSweeps().isEmpty)
            #expect(try await harness.registry.blobs.size(of: APIHarness.digest(Self.file(3))) != nil)
            let completed = try await Self.gcEvents(harness).last
            #expect(completed?.payload["blobs"] == "1" && completed?.payload["bytes"] == String(Self.file(1).count), "\(String(describing: completed))")
            let metrics = harness.registry.metrics
            #expect(metrics.registry.value(ServerMetrics.gcBlobsSwept) == 1)
            #expect(metrics.registry.value(ServerMetrics.gcBytesFreed) == Double(Self.file(1).count))
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("vessel_gc_blobs_swept_total 1\n"), "\(text)")
                #expect(text.contains("vessel_gc_bytes_freed_total \(Self.file(1).count)\n"), "\(text)")
            }
            let again = try await Self.gc(client, dryRun: false)
            #expect(again.blobs == 0 && again.bytes == 0)
        }
    }

    @Test func badInputsAreRefused() async throws {
        try await APIHarness.with { _, client in
            let v1 = try await APIHarness.push(client, model: "acme/m", files: ["w.bin": Self.file(1)])
            _ = try await APIHarness.push(client, model: "acme/m", files: ["w.bin": Self.file(2)])
            for body in [RetentionPolicyRequest(scope: "acme", keepLast: 2), RetentionPolicyRequest(scope: "*", keepFor: "7w"), RetentionPolicyRequest(scope: "*")] {
                try await client.execute(uri: "/api/v1/retention", method: .put, headers: APIHarness.auth, body: APIHarness.json(body)) { response in
                    #expect(response.status == .badRequest && APIHarness.errorCode(response) == "invalid_argument")
                }
            }
            try await client.execute(uri: "/api/v1/retention?scope=nobody/*", method: .delete, headers: APIHarness.auth) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/models/acme/m/versions/\(v1.version)", method: .delete, headers: APIHarness.auth) { _ in }
            try await client.execute(uri: "/api/v1/models/acme/m/versions/\(v1.version)/hold", method: .put, headers: APIHarness.auth, body: APIHarness.json(HoldRequest(reason: "x"))) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/models/acme/m/versions/2/hold", method: .put, headers: APIHarness.auth, body: APIHarness.json(HoldRequest(reason: " "))) { response in
                #expect(response.status == .badRequest)
            }
        }
    }
}
