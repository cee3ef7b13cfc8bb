import VesselCore

/// One resumable upload session as stored. Its chunks live in the blob store
/// (`ChunkedUploadStore`); this row says who may continue it, for which blob, until when.
public struct UploadSession: Sendable, Equatable {
    public var id: String
    public var model: ModelName
    public var digest: Digest
    public var size: UInt64
    public var chunkSize: UInt64
    public var createdBy: String
    public var createdAt: Int64
    public var expiresAt: Int64

    public var plan: ChunkPlan { ChunkPlan(size: size, chunkSize: chunkSize) }
}

/// Upload session rows. Times are microseconds since the epoch, from the store's clock.
public protocol UploadSessionStore: Sendable {
    /// The live session of `principal` for this model, digest and size, its expiry pushed to
    /// now + `ttl`; or a new session with `chunkSize` when there is none. `created` says which.
    func startUploadSession(model: ModelName, digest: Digest, size: UInt64, chunkSize: UInt64, principal: String, ttl: Int64) async throws -> (session: UploadSession, created: Bool)
    /// A session by id, expired or not; nil when absent.
    func uploadSession(id: String) async throws -> UploadSession?
    /// Removes a session row; absent rows are ignored. Delete its chunks first.
    func deleteUploadSession(id: String) async throws
    /// Sessions whose expiry is at or before `now`, oldest first.
    func expiredUploadSessions(now: Int64, limit: Int) async throws -> [UploadSession]
    /// The subset of `ids` that have a session row (to find chunk folders left without one).
    func existingUploadSessions(_ ids: [String]) async throws -> Set<String>
}

/// Named, expiring leases, so that of several replicas only one runs a background job at a time.
///
/// Contract: at any instant at most one holder has an unexpired lease on a name. Acquire and
/// renew are one conditional write each (`INSERT … ON CONFLICT DO NOTHING`, then
/// `UPDATE … WHERE holder = me OR expires_at <= now RETURNING`), so concurrent callers race in
/// the database, not in memory.
public protocol LeaseStore: Sendable {
    /// Takes lease `name` for `holder` until `now + ttl` when it is free, expired, or already
    /// held by `holder` (a renewal). Returns false when someone else holds it.
    func acquireLease(_ name: String, holder: String, now: Int64, ttl: Int64) async throws -> Bool
    /// Gives the lease up if `holder` holds it; otherwise does nothing.
    func releaseLease(_ name: String, holder: String) async throws
    /// Who holds an unexpired lease on `name`, if anyone.
    func leaseHolder(_ name: String, now: Int64) async throws -> String?
}

/// Keeps the outbox bounded: events are kept for a retention window and then deleted by age,
/// except events some webhook subscription has not yet considered or still has to deliver.
public protocol OutboxRetention: Sendable {
    /// Deletes at most `limit` events recorded before `cutoff` that no subscription still needs,
    /// and delivery attempts recorded before it; returns how many events it deleted.
    func purgeEvents(before cutoff: Int64, limit: Int) async throws -> Int
    /// The number of events in the outbox.
    func eventCount() async throws -> Int
}
