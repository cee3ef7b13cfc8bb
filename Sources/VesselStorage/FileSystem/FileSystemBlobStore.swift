import Foundation
import NIOCore
import NIOPosix
import Synchronization
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Blobs as files under one root directory.
///
///     ROOT/
///       sha256/ab/abcdef…   committed blobs (mode 0400; the data directory is 0700), named by their full hex digest
///       tmp/<uuid>          writes in flight; a commit fsyncs and renames one into sha256/,
///                           an abort unlinks it, and `sweepTemporary()` clears leftovers of a crash
///       uploads/<id>/       resumable upload sessions (see `FileSystemBlobStore+Uploads`);
///                           kept across restarts, removed on completion, abort or expiry
///
/// Blocking file calls run on `threadPool`, never on the caller's executor.
public final class FileSystemBlobStore: BlobStore {
    public let root: String
    let threadPool: NIOThreadPool
    let faults: FileFaults
    let locks = UploadLocks()
    /// Hashes each upload session's `data` while its chunks arrive.
    let uploadHashes: PrefixHasher
    /// Completed sessions whose digest came from hashing all of `data` at completion instead
    /// of the passes made while it arrived (tests watch it).
    let completedByRehashing = Atomic<Int>(0)
    /// The piece size whose digests uploads compute on the way (nil: none; decision 0038).
    public let pieceSize: Int64?

    /// - Parameter faults: test hooks to inject I/O errors (a full disk); `.none` in production.
    /// - Parameter pieceSize: uploads also hash every piece of this size (nil: they do not).
    public init(root: String, threadPool: NIOThreadPool, faults: FileFaults = .none, pieceSize: Int64? = PeerProtocol.pieceSize) throws {
        self.root = root
        self.threadPool = threadPool
        self.faults = faults
        self.pieceSize = pieceSize
        self.uploadHashes = PrefixHasher(threadPool: threadPool, pieceSize: pieceSize)
        for dir in ["\(root)/sha256", "\(root)/tmp", "\(root)/uploads"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
    }

    func path(of digest: Digest) -> String {
        "\(root)/sha256/\(digest.hex.prefix(2))/\(digest.hex)"
    }

    /// Removes temporary files left by a crash. Call at start-up, before serving.
    public func sweepTemporary() throws {
        let tmp = "\(root)/tmp"
        for name in try FileManager.default.contentsOfDirectory(atPath: tmp) {
            unlink("\(tmp)/\(name)")
        }
    }

    public func size(of digest: Digest) async throws -> UInt64? {
        var info = stat()
        guard stat(path(of: digest), &info) == 0 else { return nil }
        return UInt64(info.st_size)
    }

    public func makeWriter(expecting digest: Digest, size: UInt64) async throws -> any BlobWriter {
        let tmp = "\(root)/tmp/\(UUID().uuidString)"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileIOError.map(errno, doing: "create an upload file") }
        return FileSystemBlobWriter(store: self, fd: fd, tempPath: tmp, finalPath: path(of: digest), counter: DigestingCounter(expectedDigest: digest, expectedSize: size, pieceSize: pieceSize))
    }

    public func read(_ digest: Digest, range: Range<UInt64>?) async throws -> BlobChunks {
        let fd = open(path(of: digest), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw VesselError.notFound("blob \(digest) does not exist") }
            throw FileIOError.map(errno, doing: "open a blob")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw FileIOError.map(errno, doing: "stat a blob")
        }
        let span: Range<UInt64>
        do { span = try Range.checked(range, size: UInt64(info.st_size)) } catch {
            close(fd)
            throw error
        }
        let reader = FileChunkReader(fd: fd, direct: DirectIO.open(path(of: digest), flags: O_RDONLY), range: span, threadPool: threadPool)
        return BlobChunks(length: UInt64(span.count)) { try await reader.next() }
    }

    public func withLocalFile<T: Sendable>(_ digest: Digest, _ body: @escaping @Sendable (String) throws -> T) async throws -> T {
        let path = path(of: digest)
        guard access(path, R_OK) == 0 else { throw VesselError.notFound("blob \(digest) does not exist") }
        return try await threadPool.runIfActive { try body(path) }
    }

    public func delete(_ digest: Digest) async throws {
        if unlink(path(of: digest)) != 0 && errno != ENOENT {
            throw FileIOError.map(errno, doing: "delete a blob")
        }
    }
}

/// Injected I/O failures for tests.
public struct FileFaults: Sendable {
    /// Called before each write with the file's size once that write would be done;
    /// return an errno to make the write fail with it.
    public var beforeWrite: @Sendable (_ sizeAfterWrite: UInt64) -> Int32?

    public init(beforeWrite: @escaping @Sendable (_ sizeAfterWrite: UInt64) -> Int32?) {
        self.beforeWrite = beforeWrite
    }

    public static let none = FileFaults { _ in nil }
}

/// Maps errno values to domain errors without leaking server paths.
enum FileIOError {
    static func map(_ code: Int32, doing action: String) -> VesselError {
        switch code {
        case ENOSPC, EDQUOT:
            return VesselError(.insufficientStorage, "the server ran out of storage space while trying to \(action); nothing was stored")
        default:
            return VesselError(.internalError, "the server could not \(action) (\(String(cString: strerror(code))))")
        }
    }

    /// Writes all of `bytes` at `offset` (retrying short writes and EINTR), on the calling
    /// thread. - Throws: the mapped error of a failed `pwrite`.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, doing action: String) throws(VesselError) {
        do { try DirectIO.writeAll(fd, bytes, at: offset) } catch { throw map(error.code, doing: action) }
    }
}
