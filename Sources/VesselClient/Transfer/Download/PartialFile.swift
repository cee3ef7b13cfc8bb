import struct Crypto.SHA256
import Foundation
import VesselCore
import VesselSigning

#if canImport(Glibc)
import Glibc
#endif

/// The partial file of a download (`partial/<hex>.partial` in the cache): its descriptor, and
/// a direct one when the file system allows it, so blob bytes bypass the page cache
/// (decision 0008).
struct PartialFile: Sendable {
    let fd: Int32
    let direct: Int32?

    /// Opens `path`, creating it empty when absent; `close()` it when done.
    init(opening path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VesselError.internalError("cannot create \(path): \(String(cString: strerror(errno)))") }
        direct = DirectIO.open(path, flags: O_RDWR)
    }

    func close() {
        if let direct { closeDescriptor(direct) }
        closeDescriptor(fd)
    }

    /// Its length in bytes now (0 when it cannot be read).
    var length: UInt64 {
        var info = stat()
        fstat(fd, &info)
        return UInt64(info.st_size)
    }

    /// Empties it, for a download that starts over.
    func truncate() { ftruncate(fd, 0) }

    /// Flushes it to the disk before it moves into the cache.
    func sync() { fsync(fd) }

    /// Feeds `range` of the file into `hasher`; returns where it stopped (short at end of file).
    func hash(_ range: Range<UInt64>, into hasher: inout SHA256, scratch: UnsafeMutableRawBufferPointer? = nil) throws -> UInt64 {
        do { return try FileHasher.update(&hasher, fd: fd, direct: direct, range: range, scratch: scratch) } catch {
            throw VesselError.internalError("cannot read the partial download: \(String(cString: strerror(error.code)))")
        }
    }
}

/// `close(2)`, out of reach of `PartialFile.close()`.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
