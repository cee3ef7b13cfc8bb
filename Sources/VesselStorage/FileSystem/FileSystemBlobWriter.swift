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
    }

    private let store: FileSystemBlobStore
    private let tempPath: String
    private let finalPath: String
    private let state: Mutex<State>

    init(store: FileSystemBlobStore, fd: Int32, tempPath: String, finalPath: String, counter: DigestingCounter) {
        self.store = store
        self.tempPath = tempPath
        self.finalPath = finalPath
        self.state = Mutex(State(fd: fd, counter: counter))
    }

    func write(_ buffer: ByteBuffer) async throws {
        let (fd, written) = try state.withLock { state throws(VesselError) -> (Int32, UInt64) in
            guard !state.finished else { throw VesselError.internalError("write after the upload finished") }
            let before = state.counter.count
            try state.counter.update(buffer)
            return (state.fd, before)
        }
        let faults = store.faults
        do {
            try await store.threadPool.runIfActive {
                if let injected = faults.beforeWrite(written + UInt64(buffer.readableBytes)) { throw FileIOError.map(injected, doing: "write an upload") }
                try buffer.withUnsafeReadableBytes { try FileIOError.writeAll(fd, $0, at: written, doing: "write an upload") }
            }
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
            let finalPath = finalPath, tempPath = tempPath
            try await store.threadPool.runIfActive {
                guard fsync(fd) == 0 else { throw FileIOError.map(errno, doing: "flush an upload") }
                fchmod(fd, 0o444)
                close(fd)
                let dir = (finalPath as NSString).deletingLastPathComponent
                mkdir(dir, 0o755)
                guard rename(tempPath, finalPath) == 0 else { throw FileIOError.map(errno, doing: "store a blob") }
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

/// Reads a file range in 1 MiB chunks on the thread pool, one chunk per `next()`.
final class FileChunkReader: Sendable {
    static let chunkSize = 1 << 20
    private let fd: Int32
    private let end: UInt64
    private let position: Mutex<UInt64?>
    private let threadPool: NIOThreadPool

    init(fd: Int32, range: Range<UInt64>, threadPool: NIOThreadPool) {
        self.fd = fd
        self.end = range.upperBound
        self.position = Mutex(range.lowerBound)
        self.threadPool = threadPool
    }

    func next() async throws -> ByteBuffer? {
        guard let offset = position.withLock({ $0 }), offset < end else {
            closeOnce()
            return nil
        }
        let count = Int(min(UInt64(Self.chunkSize), end - offset))
        let fd = fd
        let buffer = try await threadPool.runIfActive { () throws -> ByteBuffer in
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
        position.withLock { $0 = offset + UInt64(count) }
        return buffer
    }

    private func closeOnce() {
        let open = position.withLock { current -> Bool in
            defer { current = nil }
            return current != nil
        }
        if open { close(fd) }
    }

    deinit { closeOnce() }
}
