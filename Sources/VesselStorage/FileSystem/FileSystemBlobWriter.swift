import Foundation
import NIOCore
import NIOPosix
import Synchronization
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Writes to a temporary file, hashing on the way; `commit` fsyncs, verifies and renames.
final class FileSystemBlobWriter: BlobWriter {
    private struct State {
        var fd: Int32
        var counter: DigestingCounter
        var finished = false
        var pieces: [String]?
    }

    private let store: FileSystemBlobStore
    private let tempPath: String
    private let finalPath: String
    private let state: Mutex<State>
    private let file: StagedFileWriter

    init(store: FileSystemBlobStore, fd: Int32, tempPath: String, finalPath: String, counter: DigestingCounter) {
        self.store = store
        self.tempPath = tempPath
        self.finalPath = finalPath
        self.state = Mutex(State(fd: fd, counter: counter))
        self.file = StagedFileWriter(fd: fd, path: tempPath, at: 0, threadPool: store.threadPool, doing: "write an upload")
    }

    /// Pieces are hashed and staged as they arrive; only full staging buffers hop to the pool.
    var takesPieces: Bool { true }

    func write(_ buffer: ByteBuffer) async throws {
        let written = try state.withLock { state throws(VesselError) -> UInt64 in
            guard !state.finished else { throw VesselError.internalError("write after the upload finished") }
            let before = state.counter.count
            try state.counter.update(buffer)
            return before
        }
        let faults = store.faults, file = file
        do {
            if let injected = faults.beforeWrite(written + UInt64(buffer.readableBytes)) { throw FileIOError.map(injected, doing: "write an upload") }
            try await file.write(buffer)
        } catch {
            await abort()
            throw error
        }
    }

    func commit() async throws {
        let (fd, counter) = try state.withLock { state throws(VesselError) -> (Int32, DigestingCounter) in
            guard !state.finished else { throw VesselError.internalError("commit after the upload finished") }
            state.finished = true
            return (state.fd, state.counter)
        }
        do {
            try counter.verify()
            state.withLock { $0.pieces = counter.pieces }
            let finalPath = finalPath, tempPath = tempPath, file = file
            try await store.threadPool.runIfActive {
                try file.flushNow()
                guard fsync(fd) == 0 else { throw FileIOError.map(errno, doing: "flush an upload") }
                fchmod(fd, 0o400)
                close(fd)
                let dir = (finalPath as NSString).deletingLastPathComponent
                mkdir(dir, 0o755)
                // Once more if the garbage collector removed the emptied folder meanwhile.
                guard rename(tempPath, finalPath) == 0 || (errno == ENOENT && mkdir(dir, 0o755) == 0 && rename(tempPath, finalPath) == 0) else {
                    throw FileIOError.map(errno, doing: "store a blob")
                }
                let dirFD = open(dir, O_RDONLY | O_DIRECTORY)
                if dirFD >= 0 {
                    fsync(dirFD)
                    close(dirFD)
                }
            }
        } catch {
            close(fd)
            unlink(tempPath)
            throw error
        }
    }

    var pieceDigests: [String]? { state.withLock { $0.pieces } }

    func abort() async {
        let fd = state.withLock { state -> Int32? in
            guard !state.finished else { return nil }
            state.finished = true
            return state.fd
        }
        guard let fd else { return }
        close(fd)
        unlink(tempPath)
    }

    deinit {
        let leftover = state.withLock { $0.finished ? nil : $0.fd }
        if let leftover {
            close(leftover)
            unlink(tempPath)
        }
    }
}

/// Reads a file range in 1 MiB chunks on the thread pool, one chunk per `next()`, with the
/// following chunk read while the current one is sent. Through a direct descriptor when there
/// is one (decision 0008: no page cache, so no kernel read-ahead either), into an aligned
/// stretch of the buffer.
final class FileChunkReader: Sendable {
    static let chunkSize = 1 << 20
    private struct State {
        /// Where the next chunk handed out starts; nil once closed.
        var position: UInt64?
        /// The read of that chunk, started ahead.
        var ahead: Task<ByteBuffer, any Error>?
    }
    private let fd: Int32
    private let direct: Int32?
    private let end: UInt64
    private let state: Mutex<State>
    private let threadPool: NIOThreadPool

    /// Takes ownership of `fd` and `direct` (a second descriptor of the same file).
    init(fd: Int32, direct: Int32?, range: Range<UInt64>, threadPool: NIOThreadPool) {
        self.fd = fd
        self.direct = direct
        self.end = range.upperBound
        self.state = Mutex(State(position: range.lowerBound))
        self.threadPool = threadPool
    }

    func next() async throws -> ByteBuffer? {
        let read = state.withLock { state -> Task<ByteBuffer, any Error>? in
            guard let offset = state.position, offset < end else { return nil }
            let current = state.ahead ?? startRead(at: offset)
            let following = offset + UInt64(count(at: offset))
            state.position = following
            state.ahead = following < end ? startRead(at: following) : nil
            return current
        }
        guard let read else {
            closeOnce()
            return nil
        }
        return try await read.value
    }

    /// Bytes in the chunk at `offset`: a direct read spans whole blocks plus an aligned start
    /// inside the buffer, so it takes a little less than 1 MiB to keep the buffer at 1 MiB.
    private func count(at offset: UInt64) -> Int {
        Int(min(UInt64(direct == nil ? Self.chunkSize : Self.chunkSize - 2 * DirectIO.alignment), end - offset))
    }

    /// Reads the chunk at `offset` in the background; the task keeps the reader (and so its
    /// descriptors) alive until it is done.
    private func startRead(at offset: UInt64) -> Task<ByteBuffer, any Error> {
        let count = count(at: offset)
        return Task {
            try await self.threadPool.runIfActive { () throws -> ByteBuffer in
                if let direct = self.direct, let buffer = try Self.readDirect(direct, offset: offset, count: count) { return buffer }
                return try Self.read(self.fd, offset: offset, count: count)
            }
        }
    }

    /// `count` bytes at `offset` through the page cache.
    private static func read(_ fd: Int32, offset: UInt64, count: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        let n = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw -> Int in
            var done = 0
            while done < count {
                let r = pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if r < 0 {
                    if errno == EINTR { continue }
                    throw FileIOError.map(errno, doing: "read a blob")
                }
                if r == 0 { break }
                done += r
            }
            return done
        }
        guard n == count else { throw VesselError.internalError("a blob was shorter than recorded") }
        return buffer
    }

    /// `count` bytes at `offset`, read from the aligned block below it; nil when the file
    /// system refuses the direct read.
    private static func readDirect(_ fd: Int32, offset: UInt64, count: Int) throws -> ByteBuffer? {
        let alignment = DirectIO.alignment
        let start = offset & ~UInt64(alignment - 1)
        let skip = Int(offset - start)
        let length = (skip + count + alignment - 1) & ~(alignment - 1)
        var buffer = ByteBufferAllocator().buffer(capacity: length + alignment)
        var lead = 0
        var refused = false
        _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length + alignment) { raw -> Int in
            let address = Int(bitPattern: raw.baseAddress!)
            lead = (alignment - address % alignment) % alignment
            var done = 0
            while done < skip + count {
                let r = pread(fd, raw.baseAddress! + lead + done, length - done, off_t(start) + off_t(done))
                if r < 0 {
                    if errno == EINTR { continue }
                    if errno == EINVAL && done == 0 {
                        refused = true
                        return 0
                    }
                    throw FileIOError.map(errno, doing: "read a blob")
                }
                if r == 0 { break }
                done += r
            }
            guard done >= skip + count else { throw VesselError.internalError("a blob was shorter than recorded") }
            return lead + skip + count
        }
        if refused { return nil }
        buffer.moveReaderIndex(forwardBy: lead + skip)
        return buffer
    }

    private func closeOnce() {
        let open = state.withLock { state -> Bool in
            defer { state.position = nil }
            return state.position != nil
        }
        if open {
            close(fd)
            if let direct { close(direct) }
        }
    }

    deinit { closeOnce() }
}
