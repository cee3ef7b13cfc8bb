import NIOCore
import VesselCore

/// Durable chunks of resumable upload sessions, committed as one blob when complete.
///
/// Contract:
/// - A chunk counts as stored only after `ChunkWriter.commit()` returned: its bytes are on
///   stable storage, so a crash or restart of the server keeps every stored chunk.
/// - Storing a chunk that is already stored is idempotent when the bytes are identical and
///   fails with `conflict` when they differ. Two writers of the same chunk at once: the second
///   fails with `unavailable` (retry later).
/// - `completeSession` makes the blob visible in the content-addressed store only after its
///   full SHA-256 and size matched; then the session's chunks are gone. On a mismatch the
///   chunks are deleted too (they can never form the blob) and nothing is stored.
/// - Only `deleteSession` (a client's abort, or expiry) and a completed session remove chunks.
///
/// The filesystem store keeps chunks under its root (layout in `FileSystemBlobStore+Uploads`);
/// an S3 store maps chunk n to multipart part n + 1 of one multipart upload.
public protocol ChunkedUploadStore: Sendable {
    /// Prepares storage for a session (idempotent).
    func beginSession(_ id: String, plan: ChunkPlan) async throws
    /// Indices of the chunks stored durably, ascending; empty for an unknown session.
    func storedChunks(_ id: String) async throws -> [Int]
    /// Starts writing chunk `index`, which must be exactly `plan.range(of: index).count` bytes.
    /// - Throws: `invalid_argument` (no such chunk), `unavailable` (being written right now).
    func makeChunkWriter(_ id: String, plan: ChunkPlan, index: Int) async throws -> any ChunkWriter
    /// Verifies the whole blob and commits it atomically into the blob store; returns false
    /// when the blob was already stored.
    /// - Throws: `conflict` (chunks missing; details name them), `digest_mismatch`, `size_mismatch`.
    func completeSession(_ id: String, plan: ChunkPlan, digest: Digest) async throws -> Bool
    /// `completeSession`, also answering the piece digests computed in the pass that verified
    /// the blob (decision 0038).
    func complete(_ id: String, plan: ChunkPlan, digest: Digest) async throws -> CompletedSession
    /// Removes a session's chunks; absent sessions are ignored.
    func deleteSession(_ id: String) async throws
    /// Every session that has chunk storage (to find storage left without a session row).
    func sessionIDs() async throws -> [String]
}

/// One chunk being written. Use from one task at a time.
public protocol ChunkWriter: Sendable {
    /// Whether `write` takes a request body's pieces as they arrive (see `BlobWriter`).
    var takesPieces: Bool { get }
    /// Appends bytes. - Throws: `size_mismatch` past the chunk's size, `insufficient_storage`.
    func write(_ buffer: ByteBuffer) async throws
    /// Checks the size, makes the chunk durable and records it. Returns false when an identical
    /// chunk was already stored. - Throws: `size_mismatch`, `conflict` (different bytes stored).
    func commit() async throws -> Bool
    /// Forgets this attempt; a chunk stored before stays stored. Safe to call twice.
    func abort() async
}

extension ChunkWriter {
    public var takesPieces: Bool { false }
}

/// What completing an upload session did.
public struct CompletedSession: Sendable {
    /// False when the blob was already stored.
    public var created: Bool
    /// The hex SHA-256 of every piece of the blob, computed in the pass that verified it; nil
    /// when that pass did not compute them (the registry computes them when a peer needs them).
    public var pieceDigests: [String]?

    public init(created: Bool, pieceDigests: [String]?) {
        self.created = created
        self.pieceDigests = pieceDigests
    }
}

extension ChunkedUploadStore {
    public func complete(_ id: String, plan: ChunkPlan, digest: Digest) async throws -> CompletedSession {
        CompletedSession(created: try await completeSession(id, plan: plan, digest: digest), pieceDigests: nil)
    }
}
