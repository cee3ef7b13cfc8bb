import Foundation
import NIOCore
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
final class S3UploadSpool: Sendable {
    struct Session: Sendable {
        var fd: Int32
        var path: String
        var md5: [Int: String] = [:]
    }

    let dir: String
    let threadPool: NIOThreadPool
    private let sessions = Mutex<[String: Session]>([:])

    init(dir: String, threadPool: NIOThreadPool) {
        self.dir = dir
        self.threadPool = threadPool
    }

    /// The spool file of a session, opened on first use. Nil when it cannot be created (the
    /// session then simply falls back to re-reading).
    func file(for id: String) -> Int32? {
        sessions.withLock { sessions -> Int32? in
            if let existing = sessions[id] { return existing.fd }
            let path = "\(dir)/.upload-\(id)"
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return nil }
            sessions[id] = Session(fd: fd, path: path)
            return fd
        }
    }

    func write(_ buffer: ByteBuffer, fd: Int32, at offset: UInt64) async throws {
        try await threadPool.runIfActive {
            try buffer.withUnsafeReadableBytes { bytes in
                guard let base = bytes.baseAddress else { return }
                var done = 0
                while done < bytes.count {
                    let n = pwrite(fd, base + done, bytes.count - done, off_t(offset) + off_t(done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw FileIOError.map(errno, doing: "keep a local copy of a chunk")
                    }
                    done += n
                }
            }
        }
    }

    func recorded(_ id: String, chunk: Int, md5: String) {
        sessions.withLock { $0[id]?.md5[chunk] = md5 }
    }

    func forget(_ id: String, chunk: Int) {
        sessions.withLock { _ = $0[id]?.md5.removeValue(forKey: chunk) }
    }

    /// The spool's path when it holds exactly the listed parts, by MD5.
    func complete(_ id: String, parts: [S3Client.Part], chunks: Int) -> String? {
        sessions.withLock { sessions -> String? in
            guard let session = sessions[id], parts.count == chunks, session.md5.count == chunks else { return nil }
            for part in parts where session.md5[part.number - 1] != part.etag.lowercased() { return nil }
            return session.path
        }
    }

    /// Closes and forgets a session's spool; removes the file unless `keep`.
    func remove(_ id: String, keep: Bool = false) {
        guard let session = sessions.withLock({ $0.removeValue(forKey: id) }) else { return }
        close(session.fd)
        if !keep { unlink(session.path) }
    }
}
