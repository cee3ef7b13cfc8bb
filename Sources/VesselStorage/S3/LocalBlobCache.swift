import Foundation
import NIOCore
import NIOPosix
import struct Crypto.SHA256
import Synchronization
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Verified copies of remote blobs on local disk, so the validators (which need a file) do
/// not download a blob once each, and a blob this replica just verified while completing an
/// upload is not downloaded again at all.
///
///     DIR/<hex>       a blob whose bytes hashed to <hex> when they were written here
///     DIR/.<uuid>     a file being filled, or a link handed to one `withLocalFile` body
///
/// Bounded by `limit` bytes: least recently used files go first. A body reads through a hard
/// link of its own, so evicting the cached name never pulls a file from under it.
///
/// The lock guards an upper bound of the bytes cached (every insert adds its file; removals by
/// others are not subtracted), and only when it passes `limit` is the folder listed and
/// trimmed, down to nine tenths of it. Listing on every insert made caching n blobs cost n²
/// `stat`s: a 10,000-file commit on S3 spent minutes here.
final class LocalBlobCache: Sendable {
    let dir: String
    let limit: UInt64
    let threadPool: NIOThreadPool
    private let lock = Mutex(UInt64(0))

    init(dir: String, limit: UInt64, threadPool: NIOThreadPool) throws {
        self.dir = dir
        self.limit = limit
        self.threadPool = threadPool
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    /// Removes the cache directories (`<pid>-<random>`) of processes that no longer run — a
    /// killed server's copies and spools.
    static func removeAbandoned(under root: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            guard let pid = name.split(separator: "-").first.flatMap({ Int32($0) }), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { try? FileManager.default.removeItem(atPath: "\(root)/\(name)") }
        }
    }

    func path(of digest: Digest) -> String { "\(dir)/\(digest.hex)" }

    /// A fresh file to fill; `commit` or `discard` it.
    /// - Parameter pieceSize: also hash every piece of this size (``CacheFile/pieces``).
    func makeFile(pieceSize: Int64? = nil) throws -> CacheFile {
        let path = "\(dir)/.\(UUID().uuidString)"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileIOError.map(errno, doing: "cache a blob") }
        return CacheFile(cache: self, fd: fd, path: path, pieceSize: pieceSize)
    }

    /// Runs `body` with a private link to the cached blob, or returns nil when it is not cached.
    func withCached<T: Sendable>(_ digest: Digest, _ body: @escaping @Sendable (String) throws -> T) async throws -> T? {
        let link = "\(dir)/.\(UUID().uuidString)"
        let linked = lock.withLock { _ in Glibc.link(path(of: digest), link) == 0 }
        guard linked else { return nil }
        defer { unlink(link) }
        utimes(path(of: digest), nil)
        return try await threadPool.runIfActive { try body(link) }
    }

    /// Renames a filled file into place; past the limit, evicts down to nine tenths of it.
    func insert(_ file: String, as digest: Digest) {
        var info = stat()
        let size = stat(file, &info) == 0 ? UInt64(info.st_size) : 0
        lock.withLock { cached in
            if rename(file, path(of: digest)) != 0 { unlink(file) }
            cached += size
            if cached > limit { cached = evict() }
        }
    }

    /// Removes least recently used files until the rest fit in nine tenths of the limit (the
    /// newest always stays); returns the bytes left.
    private func evict() -> UInt64 {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }
        var files: [(path: String, size: UInt64, used: Int)] = names.compactMap { name in
            var info = stat()
            let path = "\(dir)/\(name)"
            guard stat(path, &info) == 0 else { return nil }
            return (path, UInt64(info.st_size), info.st_mtim.tv_sec)
        }
        var total = files.reduce(UInt64(0)) { $0 + $1.size }
        files.sort { $0.used < $1.used }
        // The newest file stays even when it alone is over the limit.
        let target = limit - limit / 10
        for file in files.dropLast() where total > target {
            unlink(file.path)
            total -= file.size
        }
        return total
    }
}

/// A file being filled in the cache, hashed as it is written. Use from one task at a time.
final class CacheFile: @unchecked Sendable {
    let cache: LocalBlobCache
    let fd: Int32
    let path: String
    private var hasher: PieceHasher
    private var pending = ByteBuffer()
    private var offset: UInt64 = 0
    private var closed = false
    static let batch = 4 << 20

    init(cache: LocalBlobCache, fd: Int32, path: String, pieceSize: Int64?) {
        self.hasher = PieceHasher(pieceSize: pieceSize)
        self.cache = cache
        self.fd = fd
        self.path = path
    }

    func write(_ buffer: ByteBuffer) async throws {
        hasher.update(buffer)
        var buffer = buffer
        pending.writeBuffer(&buffer)
        if pending.readableBytes >= Self.batch { try await flush() }
    }

    private func flush() async throws {
        let data = pending, fd = fd, at = offset
        pending = ByteBuffer()
        try await cache.threadPool.runIfActive {
            try data.withUnsafeReadableBytes { try FileIOError.writeAll(fd, $0, at: at, doing: "cache a blob") }
        }
        offset += UInt64(data.readableBytes)
    }

    /// Writes what is left and returns the digest of everything written.
    func finish() async throws -> Digest {
        if pending.readableBytes > 0 { try await flush() }
        close(fd)
        closed = true
        guard let digest = hasher.digest else { throw VesselError.internalError("a cached file's hash is missing") }
        return digest
    }

    /// The hex SHA-256 of every piece written (nil without a piece size).
    var pieces: [String]? { hasher.pieces }

    /// Keeps the file as the blob `digest` (which the caller checked).
    func commit(as digest: Digest) { cache.insert(path, as: digest) }

    func discard() {
        if !closed { close(fd); closed = true }
        unlink(path)
    }
}
