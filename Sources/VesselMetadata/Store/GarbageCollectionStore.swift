import SQLKit
import VesselCore

/// A committed version as the lifecycle job judges it, with its model.
public struct RetentionSubject: Sendable, Equatable {
    public var model: ModelName
    public var id: String
    public var candidate: RetentionCandidate
    public init(model: ModelName, id: String, candidate: RetentionCandidate) {
        self.model = model
        self.id = id
        self.candidate = candidate
    }
}

/// A pending draft, with when it was created.
public struct DraftSubject: Sendable, Equatable {
    public var model: ModelName
    public var id: String
    public var createdAt: Int64
}

/// A stored blob nothing references now.
public struct SweepCandidate: Sendable, Equatable {
    public var digest: Digest
    public var size: UInt64
}

/// What the lifecycle job reads and writes (`GarbageCollector`). Times are microseconds since
/// the epoch; `cutoff` is now minus the grace period.
public protocol GarbageCollectionStore: Sendable {
    /// Every committed version that is not deleted, with what keeps it (aliases, deployment
    /// pools, holds), by model and number.
    func retentionSubjects() async throws -> [RetentionSubject]
    /// Every pending draft.
    func pendingDrafts() async throws -> [DraftSubject]
    /// Tombstones a version for a policy (actor `system`, `reason` naming the policy), with
    /// audit `version.delete` and event `version.deleted`, unless since judged it became
    /// aliased, deployed or held (then false, nothing written).
    func deleteForRetention(model: ModelName, version: Int, reason: String) async throws -> Bool
    /// Marks a draft deleted if it is still pending (false otherwise).
    func expireDraft(model: ModelName, id: String) async throws -> Bool
    /// Stored blobs with no reference (no version that is not deleted, no live upload
    /// session) last named before `cutoff`, after `digest` in digest order.
    func sweepCandidates(cutoff: Int64, now: Int64, after: String?, limit: Int) async throws -> [SweepCandidate]
    /// The blobs of versions `ids` (versions or drafts) that no other version that is not
    /// deleted and no live upload session references and that were last named before
    /// `cutoff`: what deleting them would let a sweep free (for a dry run).
    func blobsFreedByDeleting(_ ids: [String], cutoff: Int64, now: Int64) async throws -> [SweepCandidate]
    /// The transaction that removes a blob's row: only when nothing references it, it was
    /// not named since `cutoff`, no proof of possession is younger than `cutoff` and no
    /// backup runs. Marks the digest `sweeping` and answers the size; nil when it stays.
    func beginSweep(_ digest: Digest, cutoff: Int64, now: Int64) async throws -> UInt64?
    /// The object is gone: uploads of the digest may start again.
    func finishSweep(_ digest: Digest) async throws
    /// Digests a sweep began on and did not finish (a crash between row and object).
    func unfinishedSweeps() async throws -> [Digest]
    /// Digests in `digests` that have no blob row and are not being swept and were not named
    /// since `cutoff`: objects in storage nothing records (orphans). Marks each `sweeping`.
    func claimOrphans(_ digests: [Digest], cutoff: Int64) async throws -> [Digest]
    /// Records one run of the job.
    func recordGCRun(_ report: GCReport, holder: String) async throws
    /// The last `limit` runs, newest first.
    func gcRuns(limit: Int) async throws -> [GCRunInfo]
}

extension SQLMetadataStore {
    /// Of `digests` (objects found in storage), those without a blob row that are not being
    /// swept and were not named since `cutoff`: orphans a run would remove. Reads only.
    public func unrecordedBlobs(_ digests: [Digest], cutoff: Int64) async throws -> [Digest] {
        var result: [Digest] = []
        let keys = digests.map(\.description)
        for chunk in keys.batches(of: 500) {
            let kept = try await backend.read { db in
                try await db.raw("""
                    SELECT digest FROM blobs WHERE digest IN (\(binds: chunk))
                    UNION SELECT digest FROM blob_names WHERE digest IN (\(binds: chunk)) AND (named_at >= \(bind: cutoff) OR sweeping <> 0)
                    """).all().map { try $0.decode(column: "digest", as: String.self) }
            }
            let keep = Set(kept)
            result += chunk.filter { !keep.contains($0) }.compactMap { try? Digest($0) }
        }
        return result
    }
}
