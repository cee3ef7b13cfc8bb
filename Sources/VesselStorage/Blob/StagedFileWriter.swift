import NIOCore
import NIOPosix
import Synchronization
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Received bytes on their way into a local file at consecutive offsets, written around the
/// page cache where the file system allows it (`DirectFileWriter`, decision 0008). Bytes that
/// only need copying into the staging buffer are staged on the caller's thread;
/// writes to the file run on the thread pool, one at a time; `flush` before syncing or
/// reading the file back.
final class StagedFileWriter: Sendable {
    private let writer: Mutex<DirectFileWriter>
    private let direct: Int32?
    private let threadPool: NIOThreadPool
    private let action: String

    /// - Parameters:
    ///   - fd: the file, open for writing; the caller keeps and closes it.
    ///   - path: the same file, opened again here for direct writes.
    ///   - action: what a failure says the server could not do ("write a chunk").
    init(fd: Int32, path: String, at start: UInt64, threadPool: NIOThreadPool, doing action: String) {
        let direct = DirectIO.open(path, flags: O_WRONLY)
        self.direct = direct
        self.writer = Mutex(DirectFileWriter(fd: fd, direct: direct, at: start))
        self.threadPool = threadPool
        self.action = action
    }

    deinit {
        if let direct { close(direct) }
    }

    /// Appends `buffer`: on the calling thread when that only copies it into the staging
    /// buffer, on the thread pool when the staging buffer fills and is written to the file.
    func write(_ buffer: ByteBuffer) async throws {
        if try stage(buffer) { return }
        try await threadPool.runIfActive { try self.writeNow(buffer) }
    }

    /// Copies `buffer` into the staging buffer when that is all it takes; returns false,
    /// staging nothing, when the bytes would fill the staging buffer and so write to the file.
    private func stage(_ buffer: ByteBuffer) throws(VesselError) -> Bool {
        try writer.withLock { writer throws(VesselError) -> Bool in
            guard !writer.writesThrough(buffer.readableBytes) else { return false }
            do {
                try buffer.withUnsafeReadableBytes { try writer.write($0) }
            } catch {
                throw .internalError("could not \(action): \(error)")
            }
            return true
        }
    }

    /// `write` on the calling thread.
    private func writeNow(_ buffer: ByteBuffer) throws(VesselError) {
        try writer.withLock { writer throws(VesselError) in
            do {
                try buffer.withUnsafeReadableBytes { try writer.write($0) }
            } catch let failure as DirectIO.Failure {
                throw FileIOError.map(failure.code, doing: action)
            } catch {
                throw .internalError("could not \(action): \(error)")
            }
        }
    }

    /// Writes what is staged, on the calling thread.
    func flushNow() throws(VesselError) {
        try writer.withLock { writer throws(VesselError) in
            do { try writer.flush() } catch let failure as DirectIO.Failure { throw FileIOError.map(failure.code, doing: action) } catch {
                throw .internalError("could not \(action): \(error)")
            }
        }
    }
}
