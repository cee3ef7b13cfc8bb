import struct Crypto.SHA256
import Foundation
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// SHA-256 of files, read in large chunks with `pread`, several files (or parts of the work
/// list) at once.
public enum FileHasher {
    public static let chunkSize = 4 << 20

    /// Hashes one file. `progress` is called with byte counts as they are read.
    /// - Throws: `invalid_argument` when the file cannot be read or changes size while read.
    public static func sha256(path: String, expectedSize: UInt64? = nil, progress: (@Sendable (UInt64) -> Void)? = nil) throws(VesselError) -> (digest: Digest, size: UInt64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .invalidArgument("cannot open '\(path)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        var hasher = SHA256()
        let total: UInt64
        do { total = try update(&hasher, fd: fd, range: 0..<UInt64.max, progress: progress) } catch {
            throw .invalidArgument("cannot read '\(path)': \(String(cString: strerror(error.code)))")
        }
        if let expectedSize, expectedSize != total {
            throw .invalidArgument("'\(path)' changed while it was being read (\(expectedSize) bytes before, \(total) now)")
        }
        return (Digest(bytes: hasher.finalize()), total)
    }

    /// Feeds `range` of the open file `fd` into `hasher`, in large `pread`s (through `direct`,
    /// a second descriptor from `DirectIO.open`, when given), calling `progress` with each count
    /// read; returns where it stopped (before `range.upperBound` at the end of the file).
    /// `scratch` (from `DirectIO.allocate`) is reused when given. - Throws: the `errno` of a
    /// failed read.
    public static func update(_ hasher: inout SHA256, fd: Int32, direct: Int32? = nil, range: Range<UInt64>,
                              scratch: UnsafeMutableRawBufferPointer? = nil, progress: (@Sendable (UInt64) -> Void)? = nil) throws(ReadError) -> UInt64 {
        let buffer = scratch ?? DirectIO.allocate(chunkSize)
        defer { if scratch == nil { buffer.deallocate() } }
        do {
            return try DirectIO.read(fd: fd, direct: direct, range: range, scratch: buffer) { bytes in
                hasher.update(bufferPointer: bytes)
                progress?(UInt64(bytes.count))
            }
        } catch {
            throw ReadError(code: error.code)
        }
    }

    /// A failed `pread`.
    public struct ReadError: Error {
        public let code: Int32
    }

    /// Hashes every file of a folder with `parallelism` workers and returns the manifest.
    public static func manifest(of folder: ModelFolder, parallelism: Int = ProcessInfo.processInfo.activeProcessorCount, progress: (@Sendable (UInt64) -> Void)? = nil) async throws -> Manifest {
        let files = folder.files
        // Largest first, so one big file does not start last.
        let order = files.indices.sorted { files[$0].size > files[$1].size }
        let digests = try await concurrentMap(count: files.count, width: parallelism, order: order) { index in
            try sha256(path: folder.absolutePath(files[index]), expectedSize: files[index].size, progress: progress).digest
        }
        return try Manifest(entries: zip(files, digests).map { file, digest in
            ManifestEntry(path: file.path, size: file.size, digest: digest)
        })
    }
}
