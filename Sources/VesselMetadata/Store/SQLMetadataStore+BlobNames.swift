import SQLKit
import VesselCore

extension SQLMetadataStore: BlobNaming {
    /// Records that `digests` were named at `now` (a draft, a commit, an upload, a proof of
    /// possession), in the caller's transaction. In digest order, so two transactions naming
    /// overlapping sets lock the rows in the same order and never deadlock.
    func nameBlobs(_ db: any SQLDatabase, _ digests: [String], at now: Int64) async throws {
        let sorted = Array(Set(digests)).sorted()
        for batch in sorted.batches(of: 200) {
            let rows = batch.map { digest -> SQLExpression in
                SQLGroupExpression([SQLBind(digest), SQLBind(now), SQLLiteral.numeric("0"), SQLLiteral.numeric("0")])
            }
            try await db.raw("""
                INSERT INTO blob_names (digest, named_at, sweep_seq, sweeping) VALUES \(SQLList(rows))
                ON CONFLICT (digest) DO UPDATE SET named_at = CASE WHEN blob_names.named_at > excluded.named_at THEN blob_names.named_at ELSE excluded.named_at END
                """).run()
        }
    }

    public func beginBlobUpload(_ digest: Digest) async throws -> Int64 {
        let now = clock()
        let row = try await backend.transaction { db in
            try await self.nameBlobs(db, [digest.description], at: now)
            return try await db.raw("SELECT sweep_seq, sweeping FROM blob_names WHERE digest = \(bind: digest.description)").first()
        }
        guard let row else { throw VesselError.internalError("blob \(digest) was not named") }
        if try row.decode(column: "sweeping", as: Int64.self) != 0 { throw Self.beingSwept(digest) }
        return try row.decode(column: "sweep_seq", as: Int64.self)
    }

    public func recordUploadedBlob(_ digest: Digest, size: UInt64, proof: BlobProof?, sweepSeq: Int64) async throws {
        try await recordBlob(digest, size: size, proof: proof, sweepSeq: sweepSeq)
    }

    public func lastNamed(_ digest: Digest) async throws -> Int64? {
        try await backend.read { db in
            try await db.raw("SELECT named_at FROM blob_names WHERE digest = \(bind: digest.description)").first()
                .map { try $0.decode(column: "named_at", as: Int64.self) }
        }
    }

    /// Refuses an upload whose object a sweep may have removed since `sweepSeq` (in the
    /// recording transaction, after `nameBlobs` locked the row).
    func checkNotSwept(_ db: any SQLDatabase, _ digest: Digest, sweepSeq: Int64) async throws {
        guard let row = try await db.raw("SELECT sweep_seq, sweeping FROM blob_names WHERE digest = \(bind: digest.description)").first() else { return }
        if try row.decode(column: "sweeping", as: Int64.self) != 0 || row.decode(column: "sweep_seq", as: Int64.self) != sweepSeq {
            throw Self.beingSwept(digest)
        }
    }

    static func beingSwept(_ digest: Digest) -> VesselError {
        VesselError(.unavailable, "blob \(digest) is being garbage-collected; upload it again in a moment", retryAfter: 1)
    }
}
