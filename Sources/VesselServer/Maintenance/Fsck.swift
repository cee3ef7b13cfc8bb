import struct Crypto.SHA256
import Foundation
import VesselCore
import VesselMetadata
import VesselSigning
import VesselStorage

/// `vessel fsck` and `POST /api/v1/admin/fsck`: checks that every committed version's every
/// blob is stored with its recorded size (and, with `rehash`, still hashes to its digest),
/// lists blobs nothing references, drafts and upload sessions past their expiry, and verifies
/// the audit chain. Damage is never repaired: `quarantineDamaged` marks the versions holding a
/// damaged or missing blob `quarantined`, each with its audit entry, so pulls refuse them.
///
/// Safe beside a serving registry: the store is listed *before* references are read (a draft
/// names its blobs before they are uploaded, so a blob listed is never a false orphan), and a
/// blob a version references but the listing lacks is looked up again before it is called
/// missing (it may have been committed after the listing).
public struct Fsck: Sendable {
    let store: SQLMetadataStore
    let blobs: any BlobStore
    /// Drafts older than this (microseconds) count as expired: the upload-session lifetime.
    let draftLifetime: Int64
    let clock: @Sendable () -> Int64

    public init(store: SQLMetadataStore, blobs: any BlobStore, draftLifetime: Int64, clock: @escaping @Sendable () -> Int64 = { Timestamp.micros(Date()) }) {
        self.store = store
        self.blobs = blobs
        self.draftLifetime = draftLifetime
        self.clock = clock
    }

    /// What is wrong with one blob.
    struct Damage: Sendable {
        var problem: String
        var detail: String
    }

    /// - Parameters:
    ///   - actor, requestID: who the audit entries of `quarantineDamaged` name.
    public func run(_ request: FsckRequest, actor: String, requestID: String?, progress: MaintenanceProgress = .none) async throws -> FsckReport {
        let jobs = max(1, request.jobs ?? ProcessInfo.processInfo.activeProcessorCount)
        let listing = try await (blobs as? any BlobListing)?.listBlobs()
        let stored = listing.map { Dictionary($0.map { ($0.digest, $0.size) }, uniquingKeysWith: { first, _ in first }) }
        let references = try await store.committedBlobReferences()
        let referenced = try await store.referencedDigests()

        // Presence and size of each referenced blob.
        var expected: [Digest: UInt64] = [:]
        for reference in references where expected[reference.digest] == nil { expected[reference.digest] = reference.size }
        let digests = expected.keys.sorted()
        let sizes = try await concurrentMap(count: digests.count, width: stored == nil ? 16 : 1) { index -> UInt64? in
            if let size = stored?[digests[index]] { return size }
            return try await blobs.size(of: digests[index])
        }
        var damage: [Digest: Damage] = [:]
        var present: [Digest: UInt64] = [:]
        for (digest, size) in zip(digests, sizes) {
            guard let size else {
                damage[digest] = Damage(problem: "missing", detail: "the blob is not in the store")
                continue
            }
            present[digest] = size
            if let want = expected[digest], size != want {
                damage[digest] = Damage(problem: "size_mismatch", detail: "the stored blob has \(size) bytes, the manifest says \(want)")
            }
        }

        // Re-hash every stored blob: the referenced ones, then the orphans.
        let orphans = stored.map { stored in stored.filter { !referenced.contains($0.key.description) }.sorted { $0.key < $1.key } }
        var orphanDamage: [Digest: Damage] = [:]
        var bytesHashed: UInt64 = 0
        if request.rehash {
            let targets = present.filter { damage[$0.key] == nil }.map { ($0.key, $0.value) } + (orphans ?? []).map { ($0.key, $0.value) }
            let total = targets.reduce(UInt64(0)) { $0 + $1.1 }
            progress.begin("rehashing", total)
            // Largest first, so one big blob does not start last.
            let order = targets.indices.sorted { targets[$0].1 > targets[$1].1 }
            let results = try await concurrentMap(count: targets.count, width: jobs, order: order) { index -> Damage? in
                try await Self.rehash(targets[index].0, blobs: blobs, progress: progress)
            }
            bytesHashed = total
            for (target, result) in zip(targets, results) {
                guard let result else { continue }
                if referenced.contains(target.0.description) && expected[target.0] != nil { damage[target.0] = result } else { orphanDamage[target.0] = result }
            }
        }

        var findings: [FsckFinding] = []
        var byVersion: [String: (reference: BlobReference, findings: [Finding])] = [:]
        for reference in references {
            guard let problem = damage[reference.digest] else { continue }
            findings.append(FsckFinding(model: reference.model.description, version: reference.version, path: reference.path,
                                        digest: reference.digest.description, problem: problem.problem, detail: problem.detail, state: reference.state.rawValue))
            let key = "\(reference.model):\(reference.version)"
            let finding = Finding(validator: "fsck", code: problem.problem, message: "blob \(reference.digest): \(problem.detail)", path: reference.path)
            byVersion[key, default: (reference, [])].findings.append(finding)
        }

        var quarantined: [String] = []
        if request.quarantineDamaged {
            for key in byVersion.keys.sorted() {
                guard let entry = byVersion[key] else { continue }
                let reason = "fsck: \(entry.findings.count) damaged or missing file(s), first \(entry.findings[0].path ?? ""): \(entry.findings[0].message)"
                let context = ChangeContext(actor: actor, requestID: requestID, reason: reason)
                if try await store.quarantineDamaged(model: entry.reference.model, version: entry.reference.version, findings: entry.findings, change: context) {
                    quarantined.append(key)
                }
            }
            let marked = Set(quarantined)
            for index in findings.indices where marked.contains("\(findings[index].model):\(findings[index].version)") {
                findings[index].state = VersionState.quarantined.rawValue
            }
        }

        let now = clock()
        let drafts = try await store.pendingDrafts(createdBefore: now - draftLifetime).map {
            FsckExpiredDraft(model: $0.model.description, draftID: $0.id, createdAt: Timestamp.rfc3339(micros: $0.createdAt))
        }
        let sessions = try await store.expiredUploadSessions(now: now, limit: 10_000).map {
            FsckExpiredSession(id: $0.id, model: $0.model.description, digest: $0.digest.description, expiresAt: Timestamp.rfc3339(micros: $0.expiresAt))
        }
        let audit = try await store.verifyAuditChain()
        let versions = Set(references.map { "\($0.model):\($0.version)" }).count
        return FsckReport(
            ok: findings.isEmpty && audit.ok, versions: versions, files: references.count, blobs: listing?.count ?? present.count,
            bytesHashed: bytesHashed, rehashed: request.rehash, findings: findings, quarantined: quarantined,
            orphans: orphans.map { $0.map { FsckOrphan(digest: $0.key.description, size: $0.value, problem: orphanDamage[$0.key]?.problem) } },
            expiredDrafts: drafts, expiredUploadSessions: sessions, audit: audit
        )
    }

    /// Hashes one stored blob (`FileHasher`, the client's hasher: large `pread`s, SHA-256 from
    /// swift-crypto) on the blob store's I/O threads; nil when it hashes to its digest.
    static func rehash(_ digest: Digest, blobs: any BlobStore, progress: MaintenanceProgress) async throws -> Damage? {
        do {
            let add = progress.add
            let actual: Digest
            if blobs is FileSystemBlobStore {
                actual = try await blobs.withLocalFile(digest) { path in try FileHasher.sha256(path: path, progress: add) }.digest
            } else {
                // Object storage: the bucket's bytes, streamed, never a replica's local cached
                // copy (which would hide damage in the bucket) nor the cache's own check.
                var hasher = SHA256()
                for try await chunk in try await blobs.read(digest, range: nil) {
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                    add(UInt64(chunk.readableBytes))
                }
                actual = Digest(bytes: hasher.finalize())
            }
            if actual != digest {
                return Damage(problem: "digest_mismatch", detail: "the stored bytes hash to \(actual)")
            }
            return nil
        } catch let error as VesselError where error.code == .notFound {
            return Damage(problem: "missing", detail: "the blob disappeared while fsck ran")
        } catch let error as VesselError {
            return Damage(problem: "unreadable", detail: error.message)
        }
    }
}
