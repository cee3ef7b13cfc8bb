import struct Crypto.SHA256
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Writes one chunk into a session's `data` file at its offset; `commit` fdatasyncs, writes
/// the chunk's marker and hands the chunk to the session's background hashing. When the chunk
/// is the next one that hashing needs, it hashes the bytes as they arrive instead, so they are
/// never read back from disk (`PrefixHasher.claimFrontier`). When the chunk is already stored
/// it writes nothing and compares the bytes it receives with the stored ones.
final class FileSystemChunkWriter: ChunkWriter {
    private struct State {
        var count: UInt64 = 0
        var finished = false
        /// A resent chunk's bytes differ from the stored ones.
        var differs = false
    }

    private let store: FileSystemBlobStore
    private let session: String
    private let dir: String
    private let index: Int
    private let range: Range<UInt64>
    /// `data`, open for writing, or for reading when the chunk is already stored.
    private let fd: Int32
    private let stored: Bool
    private let state = Mutex(State())
    /// Writes the chunk (nil when it is already stored).
    private let file: StagedFileWriter?
    /// The session's hash state while this chunk extends it in-stream (see `claimFrontier`).
    private let claim: PrefixHasher.Frontier?
    private let frontier: Mutex<PieceHasher?>

    init(store: FileSystemBlobStore, session: String, dir: String, index: Int, range: Range<UInt64>, fd: Int32, stored: Bool) {
        self.store = store
        self.session = session
        self.dir = dir
        self.index = index
        self.range = range
        self.fd = fd
        self.stored = stored
        self.file = stored ? nil : StagedFileWriter(fd: fd, path: "\(dir)/data", at: range.lowerBound, threadPool: store.threadPool, doing: "write a chunk")
        claim = stored ? nil : store.uploadHashes.claimFrontier(session, chunk: index)
        frontier = Mutex(claim?.hasher)
    }

    private var expected: UInt64 { UInt64(range.count) }

    /// Pieces are staged as they arrive, except when comparing with an already stored chunk.
    var takesPieces: Bool { !stored }

    func write(_ buffer: ByteBuffer) async throws {
        let expected = expected, index = index
        let position = try state.withLock { state throws(VesselError) -> UInt64 in
            guard !state.finished else { throw VesselError.internalError("write after the chunk finished") }
            let (total, overflow) = state.count.addingReportingOverflow(UInt64(buffer.readableBytes))
            guard !overflow, total <= expected else {
                throw VesselError(.sizeMismatch, "chunk \(index) must be \(expected) bytes; more arrived")
            }
            defer { state.count = total }
            return state.count
        }
        let fd = fd, offset = range.lowerBound + position, faults = store.faults
        do {
            if stored {
                let same = try await store.threadPool.runIfActive { try Self.matches(buffer, fd: fd, at: offset) }
                if !same { state.withLock { $0.differs = true } }
                return
            }
            guard let file else { return }
            if let injected = faults.beforeWrite(offset + UInt64(buffer.readableBytes)) { throw FileIOError.map(injected, doing: "write a chunk") }
            try await file.write(buffer)
            if claim != nil { frontier.withLock { hasher in buffer.withUnsafeReadableBytes { hasher?.update(bufferPointer: $0) } } }
        } catch {
            await abort()
            throw error
        }
    }

    /// Whether the file holds `buffer`'s bytes at `offset`.
    private static func matches(_ buffer: ByteBuffer, fd: Int32, at offset: UInt64) throws -> Bool {
        try buffer.withUnsafeReadableBytes { incoming in
            var scratch = [UInt8](repeating: 0, count: min(incoming.count, 1 << 20))
            var done = 0
            while done < incoming.count {
                let wanted = min(scratch.count, incoming.count - done)
                let n = scratch.withUnsafeMutableBytes { pread(fd, $0.baseAddress, wanted, off_t(offset) + off_t(done)) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw FileIOError.map(errno, doing: "read a stored chunk") }
                guard n > 0 else { return false }
                let same = scratch.withUnsafeBytes { memcmp($0.baseAddress!, incoming.baseAddress! + done, n) == 0 }
                guard same else { return false }
                done += n
            }
            return true
        }
    }

    func commit() async throws -> Bool {
        let (count, differs) = try state.withLock { state throws(VesselError) -> (UInt64, Bool) in
            guard !state.finished else { throw VesselError.internalError("commit after the chunk finished") }
            state.finished = true
            return (state.count, state.differs)
        }
        defer { finish() }
        guard count == expected else {
            throw VesselError(.sizeMismatch, "chunk \(index) must be \(expected) bytes, but \(count) arrived; send it again")
        }
        if stored {
            guard !differs else {
                throw VesselError.conflict("chunk \(index) is already stored with different bytes")
            }
            return false
        }
        let fd = fd, dir = dir, index = index, file = file
        try await store.threadPool.runIfActive {
            try file?.flushNow()
            guard fdatasync(fd) == 0 else { throw FileIOError.map(errno, doing: "flush a chunk") }
            let temp = "\(dir)/.\(index).tmp"
            let marker = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard marker >= 0 else { throw FileIOError.map(errno, doing: "record a chunk") }
            let line = Array("\(count)\n".utf8)
            let written = line.withUnsafeBytes { Glibc.write(marker, $0.baseAddress, $0.count) }
            let synced = fsync(marker) == 0
            close(marker)
            guard written == line.count, synced, rename(temp, "\(dir)/\(index)") == 0 else {
                unlink(temp)
                throw FileIOError.map(errno == 0 ? EIO : errno, doing: "record a chunk")
            }
            FileSystemBlobStore.fsyncDirectory(dir)
        }
        releaseFrontier(extended: true)
        store.uploadHashes.recorded(session, chunk: index, tag: "", range: range)
        return true
    }

    func abort() async {
        let first = state.withLock { state -> Bool in
            defer { state.finished = true }
            return !state.finished
        }
        if first { finish() }
    }

    private let closed = Atomic<Bool>(false)

    private let released = Atomic<Bool>(false)

    /// Hands the session's hash state back, once: extended over this chunk once it is stored
    /// for good, else as it was.
    private func releaseFrontier(extended: Bool) {
        guard let claim, !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        store.uploadHashes.finishFrontier(session, chunk: index, claim: claim, extended: extended ? frontier.withLock { $0 } : nil)
    }

    /// Closes the file and releases the chunk's lock (and an unfinished hash state), once.
    private func finish() {
        releaseFrontier(extended: false)
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        close(fd)
        store.locks.unlockChunk(session, index)
    }

    deinit { finish() }
}
