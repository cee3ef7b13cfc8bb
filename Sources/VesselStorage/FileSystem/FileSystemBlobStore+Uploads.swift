import Foundation
import NIOCore
import NIOPosix
import struct Crypto.SHA256
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Upload sessions on the filesystem store.
///
///     ROOT/uploads/<session id>/
///       data        the blob's bytes, chunk n at offset n × chunk_size (sparse until written)
///       <n>         marker: chunk n is durable; holds "<size>\n". Written (temp + fsync +
///                   rename) only after `data` was fsynced with the chunk in it
///       .<n>.tmp    a marker being written
///
/// A chunk without its marker does not count, so a crash mid-chunk loses only that chunk, and
/// a chunk with its marker is never written again (a resend is compared byte for byte).
/// Stored chunks are hashed in the background as soon as they extend the stored prefix of
/// `data` (``PrefixHasher``), so completing hashes only the last chunks (all of `data` after a
/// restart) and renames it into `sha256/`: the bytes are written once, never copied.
extension FileSystemBlobStore: ChunkedUploadStore {
    func sessionDir(_ id: String) throws(VesselError) -> String {
        let safe = !id.isEmpty && id.count <= 100 && id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
        guard safe else { throw .invalidArgument("upload id '\(id.prefix(100))' is not valid") }
        return "\(root)/uploads/\(id)"
    }

    public func beginSession(_ id: String, plan: ChunkPlan) async throws {
        let dir = try sessionDir(id)
        if mkdir(dir, 0o755) != 0 && errno != EEXIST { throw FileIOError.map(errno, doing: "start an upload") }
        let fd = open("\(dir)/data", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileIOError.map(errno, doing: "start an upload") }
        close(fd)
        Self.fsyncDirectory("\(root)/uploads")
    }

    public func storedChunks(_ id: String) async throws -> [Int] {
        let dir = try sessionDir(id)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.compactMap { Int($0) }.filter { $0 >= 0 }.sorted()
    }

    /// The size a stored chunk's marker records. (Markers of earlier versions also carry the
    /// chunk's SHA-256 after the size; it is ignored.)
    func chunkMarker(_ dir: String, _ index: Int) -> UInt64? {
        guard let data = FileManager.default.contents(atPath: "\(dir)/\(index)") else { return nil }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace).first.flatMap { UInt64($0) }
    }

    /// Tracks the session's `data` in ``uploadHashes``, first recording the chunks stored
    /// before (by an earlier run of the server).
    func trackHashing(_ id: String, dir: String, plan: ChunkPlan) async throws {
        guard !uploadHashes.isTracking(id), uploadHashes.track(id, path: "\(dir)/data") else { return }
        for index in try await storedChunks(id) {
            if let range = try? plan.range(of: index) { uploadHashes.recorded(id, chunk: index, tag: "", range: range) }
        }
    }

    public func makeChunkWriter(_ id: String, plan: ChunkPlan, index: Int) async throws -> any ChunkWriter {
        let dir = try sessionDir(id)
        let range = try plan.range(of: index)
        try locks.lockChunk(id, index)
        let stored = chunkMarker(dir, index) != nil
        let fd = open("\(dir)/data", (stored ? O_RDONLY : O_WRONLY) | O_CLOEXEC)
        guard fd >= 0 else {
            locks.unlockChunk(id, index)
            if errno == ENOENT { throw VesselError.notFound("upload \(id) has no chunk storage; start a new upload") }
            throw FileIOError.map(errno, doing: "write a chunk")
        }
        do { try await trackHashing(id, dir: dir, plan: plan) } catch {
            close(fd)
            locks.unlockChunk(id, index)
            throw error
        }
        return FileSystemChunkWriter(store: self, session: id, dir: dir, index: index, range: range, fd: fd, stored: stored)
    }

    public func completeSession(_ id: String, plan: ChunkPlan, digest: Digest) async throws -> Bool {
        try await complete(id, plan: plan, digest: digest).created
    }

    public func complete(_ id: String, plan: ChunkPlan, digest: Digest) async throws -> CompletedSession {
        let dir = try sessionDir(id)
        try locks.lockSession(id)
        defer { locks.unlockSession(id) }
        let have = Set(try await storedChunks(id))
        let missing = (0..<plan.chunks).filter { !have.contains($0) }
        guard missing.isEmpty else {
            throw VesselError(.conflict, "\(missing.count) chunk(s) of upload \(id) are not stored yet; send them, then complete again", details: missing.map(String.init))
        }
        let final = path(of: digest)
        let data = "\(dir)/data"
        let size = plan.size
        let actual: Digest, pieces: [String]?
        do {
            try Self.checkSize(data, size: size)
            if let hashed = try await uploadHashes.digest(id, chunks: plan.chunks) {
                (actual, pieces) = hashed
            } else {
                completedByRehashing.add(1, ordering: .relaxed)
                let pieceSize = pieceSize
                (actual, pieces) = try await threadPool.runIfActive { try Self.hashFile(data, size: size, pieceSize: pieceSize) }
            }
        } catch let error as VesselError where error.code == .sizeMismatch {
            try await deleteSession(id)
            throw error
        }
        guard actual == digest else {
            try await deleteSession(id)
            throw VesselError(.digestMismatch, "the uploaded chunks hash to \(actual), not the declared \(digest); the upload was discarded")
        }
        // Verified before this check, also for a stored blob: completing proves possession.
        if try await self.size(of: digest) != nil {
            try await deleteSession(id)
            return CompletedSession(created: false, pieceDigests: pieces)
        }
        try await threadPool.runIfActive {
            let parent = (final as NSString).deletingLastPathComponent
            mkdir(parent, 0o755)
            chmod(data, 0o400)
            // Once more if the garbage collector removed the emptied folder meanwhile.
            guard rename(data, final) == 0 || (errno == ENOENT && mkdir(parent, 0o755) == 0 && rename(data, final) == 0) else {
                throw FileIOError.map(errno, doing: "store a blob")
            }
            Self.fsyncDirectory(parent)
        }
        try await deleteSession(id)
        return CompletedSession(created: true, pieceDigests: pieces)
    }

    public func deleteSession(_ id: String) async throws {
        let dir = try sessionDir(id)
        uploadHashes.stop(id)
        try await threadPool.runIfActive {
            guard FileManager.default.fileExists(atPath: dir) else { return }
            do { try FileManager.default.removeItem(atPath: dir) } catch {
                throw VesselError.internalError("the server could not delete the chunks of an upload")
            }
        }
    }

    public func sessionIDs() async throws -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/uploads")) ?? []).sorted()
    }

    /// - Throws: `size_mismatch` unless the file at `path` is exactly `size` bytes long.
    static func checkSize(_ path: String, size: UInt64) throws(VesselError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw FileIOError.map(errno, doing: "read an upload") }
        guard UInt64(info.st_size) == size else {
            throw VesselError(.sizeMismatch, "the uploaded chunks hold \(info.st_size) bytes, but \(size) were declared; the upload was discarded")
        }
    }

    /// SHA-256 of a file that must be exactly `size` bytes long.
    static func hashFile(_ path: String, size: UInt64) throws -> Digest {
        try hashFile(path, size: size, pieceSize: nil).digest
    }

    /// SHA-256 of a file that must be exactly `size` bytes long, and of its pieces of
    /// `pieceSize` (nil: none) in the same read.
    static func hashFile(_ path: String, size: UInt64, pieceSize: Int64?) throws -> (digest: Digest, pieces: [String]?) {
        try checkSize(path, size: size)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileIOError.map(errno, doing: "read an upload") }
        let direct = DirectIO.open(path, flags: O_RDONLY)
        defer {
            close(fd)
            if let direct { close(direct) }
        }
        var hasher = PieceHasher(pieceSize: pieceSize)
        try PrefixHasher.hash(fd: fd, direct: direct, ranges: [0..<size], into: &hasher)
        guard let digest = hasher.digest else { throw VesselError.internalError("a file's hash is missing") }
        return (digest, hasher.pieces)
    }

    static func fsyncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
