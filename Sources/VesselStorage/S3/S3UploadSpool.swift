import struct Crypto.SHA256
import Foundation
import NIOPosix
import Synchronization
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Local copies of the chunks this replica streamed into S3 for each session, so completing a
/// session whose chunks all came through this replica hashes a local file (usually still in
/// the page cache) instead of reading the whole blob back from object storage.
///
///     <cache dir>/.upload-<id>    chunk n at offset n × chunk size, as sent to S3
///
/// A chunk counts only once its part was stored and S3's ETag equalled the MD5 of the bytes
/// written here; completion uses the spool only when every part S3 lists carries the MD5
/// recorded for that chunk, so the local bytes and the stored parts are the same bytes. A
/// session with any chunk from elsewhere (another replica, before a restart) is re-read from S3.
/// Chunks are written, and hashed back, around the page cache where the file system allows it
/// (decision 0008).
///
/// The SHA-256 of the blob is computed while the upload goes on (``PrefixHasher``, with each
/// chunk's MD5 as its tag), so completion only hashes what arrived last. A chunk sent again
/// with other bytes after it was hashed (its MD5 changed) makes completion hash the whole
/// spool again.
final class S3UploadSpool: Sendable {
    struct Session: Sendable {
        var fd: Int32
        var path: String
    }

    let dir: String
    let threadPool: NIOThreadPool
    private let hasher: PrefixHasher
    private let sessions = Mutex<[String: Session]>([:])

    init(dir: String, threadPool: NIOThreadPool, pieceSize: Int64? = nil) {
        self.dir = dir
        self.threadPool = threadPool
        self.hasher = PrefixHasher(threadPool: threadPool, pieceSize: pieceSize)
    }

    /// The spool file of a session, opened on first use. Nil when it cannot be created (the
    /// session then simply falls back to re-reading).
    func file(for id: String) -> Session? {
        sessions.withLock { sessions -> Session? in
            if let existing = sessions[id] { return existing }
            let path = "\(dir)/.upload-\(id)"
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return nil }
            let session = Session(fd: fd, path: path)
            sessions[id] = session
            hasher.track(id, path: path)
            return session
        }
    }

    func recorded(_ id: String, chunk: Int, md5: String, range: Range<UInt64>) {
        hasher.recorded(id, chunk: chunk, tag: md5, range: range)
    }

    /// The blob's digest (and its pieces) from the hashing done during the upload, when every
    /// chunk is recorded; nil when the session has no spool or a hashed chunk changed since (the
    /// caller then hashes the whole file).
    func hashed(_ id: String, chunks: Int) async throws -> (digest: Digest, pieces: [String]?)? {
        try await hasher.digest(id, chunks: chunks)
    }

    /// `hashed(_:chunks:)`'s digest alone.
    func digest(_ id: String, chunks: Int) async throws -> Digest? {
        try await hashed(id, chunks: chunks)?.digest
    }

    func forget(_ id: String, chunk: Int) {
        hasher.forget(id, chunk: chunk)
    }

    /// The spool's path when it holds exactly the listed parts, by MD5.
    func complete(_ id: String, parts: [S3Client.Part], chunks: Int) -> String? {
        guard let path = sessions.withLock({ $0[id]?.path }) else { return nil }
        let md5 = hasher.tags(id)
        guard parts.count == chunks, md5.count == chunks else { return nil }
        for part in parts where md5[part.number - 1] != part.etag.lowercased() { return nil }
        return path
    }

    /// Closes and forgets a session's spool; removes the file unless `keep`.
    func remove(_ id: String, keep: Bool = false) {
        guard let session = sessions.withLock({ $0.removeValue(forKey: id) }) else { return }
        hasher.stop(id)
        close(session.fd)
        if !keep { unlink(session.path) }
    }
}
