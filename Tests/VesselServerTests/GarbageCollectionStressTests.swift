import Crypto
import Foundation
import NIOCore
import Testing
import VesselCore
import VesselMetadata
@testable import VesselServer
@testable import VesselStorage

/// Pushes of two models sharing blobs keep running while the lifecycle job loops with grace 0
/// and a policy that deletes all but the newest version (issue 26). The push follows the
/// server's steps on the stores: name and upload missing blobs, draft, upload what the commit
/// would call missing, commit; `unavailable` (a sweep of that digest) is retried. Afterwards
/// every committed version that is not deleted has every blob, byte-identical. Bounded: 8 s of
/// pushing.
@Suite struct GarbageCollectionStressTests {
    static func upload(_ registry: Registry, _ bytes: [UInt8]) async throws {
        let digest = APIHarness.digest(bytes)
        for attempt in 0..<200 {
            do {
                let seq = try await registry.store.beginBlobUpload(digest)
                let writer = try await registry.blobs.makeWriter(expecting: digest, size: UInt64(bytes.count))
                try await writer.write(ByteBuffer(bytes: bytes))
                try await writer.commit()
                try await registry.store.recordUploadedBlob(digest, size: UInt64(bytes.count), proof: nil, sweepSeq: seq)
                return
            } catch let error as VesselError where error.code == .unavailable && attempt < 199 {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    static func push(_ registry: Registry, model: ModelName, files: [String: [UInt8]]) async throws {
        let store = registry.store
        let entries = files.map { ManifestEntry(path: $0.key, size: UInt64($0.value.count), digest: APIHarness.digest($0.value)) }
        let manifest = try Manifest(entries: entries)
        for bytes in files.values where try await store.blobSize(APIHarness.digest(bytes)) == nil { try await upload(registry, bytes) }
        let draft = try await store.createDraft(model: model, manifest: manifest, digest: APIHarness.digest(Array(UUID().uuidString.utf8)), description: "", change: ChangeContext(actor: "admin", requestID: nil))
        // The commit's check: the draft now holds its blobs; any swept before it was written go up again.
        for bytes in files.values where try await store.blobSize(APIHarness.digest(bytes)) == nil { try await upload(registry, bytes) }
        _ = try await store.commitDraft(model: model, draftID: draft, findings: [], analysis: VersionAnalysis(), change: ChangeContext(actor: "admin", requestID: nil))
    }

    @Test func pushesSharingBlobsSurviveASweepLoop() async throws {
        try await APIHarness.with(configure: { $0.gcGrace = .zero }) { harness, _ in
            try await Self.stress(harness.registry)
        }
    }

    /// The same on RGW, in a versioned bucket of its own: afterwards, besides every live
    /// version's bytes, no object version or delete marker of a swept key remains (every key
    /// the bucket still lists belongs to a blob row).
    @Test(.enabled(if: S3ServeTests.s3 != nil, "needs a real S3 server (VESSEL_TEST_S3_URL)"))
    func pushesSharingBlobsSurviveASweepLoopOnAVersionedRGWBucket() async throws {
        guard let s3 = S3ServeTests.s3 else { return }
        var location = try S3Location(parsing: s3.url)
        location.bucket = "vessel-gcstress-\(UInt32.random(in: 0...UInt32.max))"
        location.prefix = ""
        let credentials = S3Credentials(accessKey: s3.access, secretKey: s3.secret)
        let (probe, _) = try await S3BlobStore.open(location, credentials: credentials, createBucket: true)
        do {
            try await probe.client.setBucketVersioning("Enabled")
            try await APIHarness.with(configure: {
                $0.gcGrace = .zero
                $0.storageURL = "s3://\(location.bucket)?endpoint=\(location.endpoint)&region=\(location.region)"
                $0.storageCredentials = credentials
            }) { harness, _ in
                try await Self.stress(harness.registry)
                var live = Set<String>()
                for subject in try await harness.registry.store.retentionSubjects() {
                    let version = try await harness.registry.store.resolve(Reference(model: subject.model, selector: .version(subject.candidate.number)))
                    for entry in version.manifest ?? [] { live.insert(probe.blobKey(entry.digest)) }
                }
                let listed = try await probe.client.listObjectVersions(prefix: "blobs/")
                var strays: [String] = []
                for key in Set(listed.map(\.key)) where !live.contains(key) {
                    // A key may still belong to a row no version references (swept by the next run
                    // once its grace is over); a swept key has no row and no object version.
                    let hex = String(key.split(separator: "/").last ?? "")
                    if try await harness.registry.store.blobSize(Digest(hex: hex)) == nil { strays.append(key) }
                }
                #expect(strays.isEmpty, "object versions of swept keys remain: \(strays.prefix(5))")
            }
        } catch {
            Issue.record("\(error)")
        }
        for leftover in (try? await probe.client.listObjectVersions(prefix: "")) ?? [] {
            try? await probe.client.deleteObject(leftover.key, versionID: leftover.versionID)
        }
        try? await probe.client.deleteBucket()
        await probe.shutdown()
    }

    static func stress(_ registry: Registry) async throws {
        let (scope, policy) = try RetentionPolicyRequest(scope: "acme/*", keepLast: 1).validated()
        _ = try await registry.store.setRetentionPolicy(scope: scope, policy: policy, change: ChangeContext(actor: "admin", requestID: nil))
        let collector = registry.garbageCollector()
        let deadline = ContinuousClock.now + .seconds(8)
        let sweeps = try await withThrowingTaskGroup(of: Int.self) { group in
            for name in ["a", "b"] {
                group.addTask {
                    let model = try ModelName("acme/\(name)")
                    var round = 0
                    while ContinuousClock.now < deadline {
                        round += 1
                        // Shared blobs cycle through a small set, so they are swept and pushed again.
                        let files = ["shared.bin": Array("shared \(round % 3)\n".utf8), "own.bin": Array("\(name) \(round % 4)\n".utf8)]
                        try await Self.push(registry, model: model, files: files)
                    }
                    return 0
                }
            }
            group.addTask {
                var runs = 0
                while ContinuousClock.now < deadline {
                    do { _ = try await collector.run(dryRun: false); runs += 1 } catch let error as VesselError where error.code == .conflict {}
                }
                _ = try await collector.run(dryRun: false)
                return runs
            }
            var total = 0
            for try await value in group { total += value }
            return total
        }
        #expect(sweeps > 0)
        var checked = 0
        for subject in try await registry.store.retentionSubjects() {
            let version = try await registry.store.resolve(Reference(model: subject.model, selector: .version(subject.candidate.number)))
            for entry in version.manifest ?? [] {
                var bytes: [UInt8] = []
                for try await chunk in try await registry.blobs.read(entry.digest, range: nil) { bytes += Array(buffer: chunk) }
                #expect(APIHarness.digest(bytes) == entry.digest, "\(subject.model):\(subject.candidate.number) \(entry.path)")
                checked += 1
            }
        }
        #expect(checked >= 4)
    }
}
