import Foundation
import NIOCore
import NIOPosix
import Synchronization
import struct Crypto.SHA256
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Writes one chunk into a session's `data` file at its offset, hashing on the way; `commit`
/// fdatasyncs and then writes the chunk's marker. When the chunk is already stored it writes
/// nothing and only compares the bytes it receives with the marker.
final class FileSystemChunkWriter: ChunkWriter {
    private struct State {
        var hasher = SHA256()
        var count: UInt64 = 0
        var finished = false
    }

    private let store: FileSystemBlobStore
    private let session: String
    private let dir: String
    private let index: Int
    private let range: Range<UInt64>
    /// -1 when the chunk is already stored (compare only).
    private let fd: Int32
    private let stored: (size: UInt64, hex: String)?
    private let state = Mutex(State())

    init(store: FileSystemBlobStore, session: String, dir: String, index: Int, range: Range<UInt64>, fd: Int32, stored: (size: UInt64, hex: String)?) {
        self.store = store
        self.session = session
        self.dir = dir
        self.index = index
        self.range = range
        self.fd = fd
        self.stored = stored
    }

    private var expected: UInt64 { UInt64(range.count) }

    func write(_ buffer: ByteBuffer) async throws {
        let expected = expected, index = index
        let position = try state.withLock { state throws(VesselError) -> UInt64 in
            guard !state.finished else { throw VesselError.internalError("write after the chunk finished") }
            let (total, overflow) = state.count.addingReportingOverflow(UInt64(buffer.readableBytes))
            guard !overflow, total <= expected else {
                throw VesselError(.sizeMismatch, "chunk \(index) must be \(expected) bytes; more arrived")
            }
            buffer.withUnsafeReadableBytes { state.hasher.update(bufferPointer: $0) }
            defer { state.count = total }
            return state.count
        }
        guard fd >= 0 else { return }
        let fd = fd, offset = range.lowerBound + position, faults = store.faults
        do {
            try await store.threadPool.runIfActive {
                if let injected = faults.beforeWrite(offset + UInt64(buffer.readableBytes)) { throw FileIOError.map(injected, doing: "write a chunk") }
                try buffer.withUnsafeReadableBytes { try FileIOError.writeAll(fd, $0, at: offset, doing: "write a chunk") }
            }
        } catch {
            await abort()
            throw error
        }
    }

    func commit() async throws -> Bool {
        let (count, hex) = try state.withLock { state throws(VesselError) -> (UInt64, String) in
            guard !state.finished else { throw VesselError.internalError("commit after the chunk finished") }
            state.finished = true
            return (state.count, Digest(bytes: state.hasher.finalize()).hex)
        }
        defer { finish() }
        guard count == expected else {
            throw VesselError(.sizeMismatch, "chunk \(index) must be \(expected) bytes, but \(count) arrived; send it again")
        }
        if let stored {
            guard stored.size == count, stored.hex == hex else {
                throw VesselError.conflict("chunk \(index) is already stored with different bytes")
            }
            return false
        }
        let fd = fd, dir = dir, index = index
        try await store.threadPool.runIfActive {
            guard fdatasync(fd) == 0 else { throw FileIOError.map(errno, doing: "flush a chunk") }
            let temp = "\(dir)/.\(index).tmp"
            let marker = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard marker >= 0 else { throw FileIOError.map(errno, doing: "record a chunk") }
            let line = Array("\(count) \(hex)\n".utf8)
            let written = line.withUnsafeBytes { Glibc.write(marker, $0.baseAddress, $0.count) }
            let synced = fsync(marker) == 0
            close(marker)
            guard written == line.count, synced, rename(temp, "\(dir)/\(index)") == 0 else {
                unlink(temp)
                throw FileIOError.map(errno == 0 ? EIO : errno, doing: "record a chunk")
            }
            FileSystemBlobStore.fsyncDirectory(dir)
        }
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

    /// Closes the file and releases the chunk's lock, once.
    private func finish() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if fd >= 0 { close(fd) }
        store.locks.unlockChunk(session, index)
    }

    deinit { finish() }
}
