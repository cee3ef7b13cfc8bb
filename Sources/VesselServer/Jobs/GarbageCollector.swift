import Foundation
import Logging
import VesselCore
import VesselMetadata
import VesselStorage

/// The lifecycle job (issue 26): applies the retention policies, expires drafts, then sweeps
/// blobs nothing references. Scheduled by `BackgroundJobs` (`vessel serve --gc-interval`) and
/// run on demand by `POST /api/v1/admin/gc`; either way one run at a time across replicas,
/// under the `gc-run` lease, renewed while a long run lasts.
///
/// Order of a sweep, per blob: the row goes in a transaction that finds no reference and no
/// name younger than the grace (`GarbageCollectionStore.beginSweep`), then the object, then the
/// digest is released for uploads (`finishSweep`). A crash in between leaves a digest marked
/// sweeping, which the next run finishes first, or an object without a row (an orphan), which
/// the next run removes; never a row without its object (docs/decisions/0022-garbage-collection.md).
///
/// Backups: while a `backup:` lease is live the sweep does not start (the report says which
/// backup); each row's transaction checks again, and an object whose row went just before a
/// backup began is left for the next run rather than removed under the backup.
public struct GarbageCollector: Sendable {
    public static let leaseName = "gc-run"
    /// 90 s, renewed every 30 s while a run lasts: a run killed mid-sweep holds the next one
    /// off at most that long.
    static let leaseTTL: Int64 = 90 * 1_000_000

    let store: SQLMetadataStore
    let blobs: any BlobStore
    /// Microseconds a blob stays after it was last named.
    let grace: Int64
    let holder: String
    let clock: @Sendable () -> Int64
    let metrics: ServerMetrics?
    let logger: Logger

    public init(store: SQLMetadataStore, blobs: any BlobStore, grace: Duration, holder: String, metrics: ServerMetrics? = nil, logger: Logger,
                clock: @escaping @Sendable () -> Int64 = { Timestamp.micros(Date()) }) {
        self.store = store
        self.blobs = blobs
        self.grace = BackgroundJobs.micros(grace)
        self.holder = holder
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
    }

    /// One run under the lease.
    /// - Throws: `conflict` naming the holder when another run holds the lease; the stores' errors.
    public func run(dryRun: Bool) async throws -> GCReport {
        let runHolder = "\(holder)/\(RandomID.uuid().prefix(8))"
        guard try await store.acquireLease(Self.leaseName, holder: runHolder, now: clock(), ttl: Self.leaseTTL) else {
            let other = try await store.leaseHolder(Self.leaseName, now: clock()) ?? "another replica"
            throw VesselError.conflict("a garbage collection is already running (lease held by \(other)); try again when it has finished")
        }
        let store = store, clock = clock
        do {
            let report = try await withThrowingTaskGroup(of: GCReport?.self) { group in
                group.addTask {
                    while true {
                        try await Task.sleep(for: .seconds(30))
                        _ = try? await store.acquireLease(Self.leaseName, holder: runHolder, now: clock(), ttl: Self.leaseTTL)
                    }
                }
                group.addTask { try await self.collect(dryRun: dryRun) }
                defer { group.cancelAll() }
                while let next = try await group.next() {
                    if let report = next { return report }
                }
                throw CancellationError()
            }
            await bestEffort(within: .seconds(2)) { try? await store.releaseLease(Self.leaseName, holder: runHolder) }
            return report
        } catch {
            await bestEffort(within: .seconds(2)) { try? await store.releaseLease(Self.leaseName, holder: runHolder) }
            throw error
        }
    }

    /// The plan of a run at `now`: the versions the policies delete and the drafts that expired.
    func plan(now: Int64) async throws -> (versions: [(subject: RetentionSubject, reason: String)], drafts: [DraftSubject]) {
        let policies = try await store.retentionPolicies()
        guard !policies.isEmpty else { return ([], []) }
        var doomed: [(subject: RetentionSubject, reason: String)] = []
        let subjects = try await store.retentionSubjects()
        var start = subjects.startIndex
        while start < subjects.endIndex {
            let model = subjects[start].model
            var end = start
            while end < subjects.endIndex && subjects[end].model == model { end += 1 }
            let group = subjects[start..<end]
            let verdicts = RetentionRules.doomed(group.map(\.candidate), policy: RetentionRules.governing(model, among: policies), now: now)
            for verdict in verdicts.sorted(by: { $0.number < $1.number }) {
                if let subject = group.first(where: { $0.candidate.number == verdict.number }) { doomed.append((subject, verdict.reason)) }
            }
            start = end
        }
        let drafts = try await store.pendingDrafts().filter { draft in
            guard let limit = RetentionRules.governing(draft.model, among: policies)?.draftsExpireAfter else { return false }
            return draft.createdAt <= now - limit * 1_000_000
        }
        return (doomed, drafts)
    }

    func collect(dryRun: Bool) async throws -> GCReport {
        let started = clock()
        let now = started
        let cutoff = now - grace
        let (doomed, drafts) = try await plan(now: now)
        var report = GCReport(dryRun: dryRun, startedAt: Timestamp.rfc3339(micros: started))
        let backups = try await store.runningBackups(now: now)
        if !backups.isEmpty { report.sweepSkipped = "a backup is running (\(backups.map { "backup:\($0)" }.joined(separator: ", "))); blobs are swept by the next run" }

        if dryRun {
            report.versions = doomed.map { GCVersion(model: $0.subject.model.description, version: $0.subject.candidate.number, reason: $0.reason) }
            report.drafts = drafts.count
            if backups.isEmpty {
                var freed: [String: UInt64] = [:]
                var after: String?
                while true {
                    let page = try await store.sweepCandidates(cutoff: cutoff, now: now, after: after, limit: 1000)
                    for blob in page { freed[blob.digest.description] = blob.size }
                    guard let last = page.last, page.count == 1000 else { break }
                    after = last.digest.description
                }
                let ids = doomed.map(\.subject.id) + drafts.map(\.id)
                for blob in try await store.blobsFreedByDeleting(ids, cutoff: cutoff, now: now) { freed[blob.digest.description] = blob.size }
                for orphan in try await orphans(cutoff: cutoff, claim: false) { freed[orphan.digest.description] = orphan.size }
                for blob in try await unfinished() where blob.size != nil { freed[blob.digest.description] = blob.size }
                report.blobs = freed.count
                report.bytes = freed.values.reduce(Int64(0)) { $0 + Int64(clamping: $1) }
            }
        } else {
            for (subject, reason) in doomed where try await store.deleteForRetention(model: subject.model, version: subject.candidate.number, reason: reason) {
                report.versions.append(GCVersion(model: subject.model.description, version: subject.candidate.number, reason: reason))
            }
            for draft in drafts where try await store.expireDraft(model: draft.model, id: draft.id) { report.drafts += 1 }
            if backups.isEmpty { try await sweep(cutoff: cutoff, now: now, into: &report) }
        }
        report.durationMs = (clock() - started) / 1000
        try await store.recordGCRun(report, holder: holder)
        metrics?.gcRun(report)
        logger.info("garbage collection", metadata: [
            "dry_run": "\(dryRun)", "versions": "\(report.versions.count)", "drafts": "\(report.drafts)", "blobs": "\(report.blobs)", "bytes": "\(report.bytes)",
        ])
        return report
    }

    /// Finishes sweeps a crash interrupted, sweeps unreferenced blobs, then removes orphans.
    func sweep(cutoff: Int64, now: Int64, into report: inout GCReport) async throws {
        // A crashed run's sweeps: their rows are gone, so the sizes come from storage; an
        // object the crashed run had already removed is not counted again.
        let unfinished = try await unfinished()
        if !unfinished.isEmpty {
            _ = try await purge(unfinished.map(\.digest))
            for blob in unfinished { try await store.finishSweep(blob.digest) }
            for blob in unfinished {
                guard let size = blob.size else { continue }
                report.blobs += 1
                report.bytes += Int64(clamping: size)
            }
        }
        var after: String?
        while true {
            let page = try await store.sweepCandidates(cutoff: cutoff, now: now, after: after, limit: 500)
            var swept: [Digest] = []
            for blob in page {
                if let size = try await store.beginSweep(blob.digest, cutoff: cutoff, now: now) {
                    swept.append(blob.digest)
                    report.blobs += 1
                    report.bytes += Int64(clamping: size)
                }
            }
            // A backup that began since the rows went must find every object it lists; these
            // rows are gone from its list, but leave the objects to the next run's orphan pass.
            if try await store.runningBackups(now: clock()).isEmpty { _ = try await purge(swept) }
            for digest in swept { try await store.finishSweep(digest) }
            guard let last = page.last, page.count == 500 else { break }
            after = last.digest.description
        }
        let orphans = try await orphans(cutoff: cutoff, claim: true)
        if !orphans.isEmpty {
            if try await store.runningBackups(now: clock()).isEmpty { _ = try await purge(orphans.map(\.digest)) }
            for orphan in orphans { try await store.finishSweep(orphan.digest) }
            report.blobs += orphans.count
            report.bytes += orphans.reduce(Int64(0)) { $0 + Int64(clamping: $1.size) }
        }
    }

    /// Digests a crashed run began sweeping (row gone, object maybe not), with the size of the
    /// object still stored (nil when it is gone already).
    func unfinished() async throws -> [(digest: Digest, size: UInt64?)] {
        var found: [(digest: Digest, size: UInt64?)] = []
        for digest in try await store.unfinishedSweeps() { found.append((digest, try await blobs.size(of: digest))) }
        return found
    }

    /// Objects in storage without a blob row, not named since `cutoff`; claimed (marked
    /// sweeping) when `claim`.
    func orphans(cutoff: Int64, claim: Bool) async throws -> [StoredBlob] {
        guard let listing = blobs as? any BlobListing else { return [] }
        let stored = try await listing.listBlobs()
        let sizes = Dictionary(stored.map { ($0.digest, $0.size) }, uniquingKeysWith: { a, _ in a })
        var found = try await store.unrecordedBlobs(stored.map(\.digest), cutoff: cutoff)
        if claim { found = try await store.claimOrphans(found, cutoff: cutoff) }
        return found.map { StoredBlob(digest: $0, size: sizes[$0] ?? 0) }
    }

    func purge(_ digests: [Digest]) async throws -> Int {
        guard !digests.isEmpty else { return 0 }
        if let purging = blobs as? any BlobPurging { return try await purging.purge(digests) }
        for digest in digests { try await blobs.delete(digest) }
        return digests.count
    }
}
