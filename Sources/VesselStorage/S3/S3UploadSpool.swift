import struct Crypto.SHA256
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
///
/// The SHA-256 of the blob is computed while the upload goes on: as soon as the chunks from
/// the start of the file are recorded without a gap, a background pass hashes them from the
/// spool (still in the page cache), so completion only hashes what arrived last. A chunk sent
/// again with other bytes after it was hashed (its MD5 changed) makes completion hash the
/// whole spool again.
final class S3UploadSpool: Sendable {
    struct Session: Sendable {
        var fd: Int32
        var path: String
        var md5: [Int: String] = [:]
        /// Where each recorded chunk lies in the spool.
        var ranges: [Int: Range<UInt64>] = [:]
        /// The hash of chunks 0..<hashed.count, and the MD5 each had when it was hashed.
        var hasher = SHA256()
        var hashed: [String] = []
        /// A background pass holds `hasher` (nil: none running).
        var pass: Task<Void, Never>?
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
            try buffer.withUnsafeReadableBytes { try FileIOError.writeAll(fd, $0, at: offset, doing: "keep a local copy of a chunk") }
        }
    }

    func recorded(_ id: String, chunk: Int, md5: String, range: Range<UInt64>) {
        sessions.withLock {
            $0[id]?.md5[chunk] = md5
            $0[id]?.ranges[chunk] = range
        }
        advance(id)
    }

    /// Starts a background pass over the recorded chunks that follow the hashed prefix, unless
    /// one runs (it calls this again when done).
    private func advance(_ id: String) {
        sessions.withLock { sessions in
            guard var session = sessions[id], session.pass == nil else { return }
            var work: [(md5: String, range: Range<UInt64>)] = []
            var next = session.hashed.count
            while let md5 = session.md5[next], let range = session.ranges[next] {
                work.append((md5, range))
                next += 1
            }
            guard !work.isEmpty else { return }
            let fd = session.fd, start = session.hasher
            let ranges = work.map(\.range), md5s = work.map(\.md5)
            session.pass = Task {
                let hashed = try? await self.threadPool.runIfActive {
                    var hasher = start
                    try Self.hash(fd: fd, ranges: ranges, into: &hasher)
                    return hasher
                }
                self.sessions.withLock { sessions in
                    sessions[id]?.pass = nil
                    if let hashed {
                        sessions[id]?.hasher = hashed
                        sessions[id]?.hashed += md5s
                    }
                }
                if hashed != nil { self.advance(id) }
            }
            sessions[id] = session
        }
    }

    /// Feeds `ranges` of the spool file into `hasher`.
    static func hash(fd: Int32, ranges: [Range<UInt64>], into hasher: inout SHA256) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for range in ranges {
            var offset = range.lowerBound
            while offset < range.upperBound {
                let wanted = Int(min(UInt64(buffer.count), range.upperBound - offset))
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, wanted, off_t(offset)) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw FileIOError.map(n < 0 ? errno : EIO, doing: "hash the local copy of an upload") }
                buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<n])) }
                offset += UInt64(n)
            }
        }
    }

    /// The blob's digest from the passes made during the upload plus the chunks after them,
    /// when every chunk is recorded; nil when the session has no spool or a hashed chunk
    /// changed since (the caller then hashes the whole file).
    func digest(_ id: String, chunks: Int) async throws -> Digest? {
        while let pass = sessions.withLock({ $0[id]?.pass }) { await pass.value }
        guard let (fd, hasher, rest) = sessions.withLock({ sessions -> (Int32, SHA256, [Range<UInt64>])? in
            guard let session = sessions[id], session.md5.count == chunks, session.hashed.count <= chunks,
                  session.hashed.indices.allSatisfy({ session.md5[$0] == session.hashed[$0] }) else { return nil }
            var rest: [Range<UInt64>] = []
            for chunk in session.hashed.count..<chunks {
                guard let range = session.ranges[chunk] else { return nil }
                rest.append(range)
            }
            return (session.fd, session.hasher, rest)
        }) else { return nil }
        let final = try await threadPool.runIfActive {
            var hasher = hasher
            try Self.hash(fd: fd, ranges: rest, into: &hasher)
            return hasher.finalize()
        }
        return Digest(bytes: final)
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
        session.pass?.cancel()
        close(session.fd)
        if !keep { unlink(session.path) }
    }
}
