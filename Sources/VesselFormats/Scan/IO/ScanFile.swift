#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only file opened for positional reads. Closed when released.
///
/// A file of at most `wholeFileLimit` bytes is read whole when opened, with one `pread`, and
/// every later read is served from that copy: most scanned files are small, and a zip or a
/// pickle would otherwise cost several reads (end record, directory, headers, members).
final class ScanFile {
    let descriptor: Int32
    let size: Int
    private var contents: [UInt8]?

    /// Opens `path` read-only without following a final symlink.
    /// - Throws: `ScanProblem` of kind `unreadable`.
    init(path: String, wholeFileLimit: Int = 0) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ELOOP {
                throw ScanProblem(kind: .symlink, detail: "symbolic links are not followed", offset: nil)
            }
            throw ScanProblem(kind: .unreadable, detail: "cannot open file (errno \(errno))", offset: nil)
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size >= 0 else {
            close(fd)
            throw ScanProblem(kind: .unreadable, detail: "not a regular file", offset: nil)
        }
        descriptor = fd
        size = Int(info.st_size)
        contents = nil
        if size <= wholeFileLimit {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(size)
            _ = try read(into: &bytes, count: size, at: 0)
            contents = bytes
        }
    }

    deinit {
        close(descriptor)
    }

    /// Appends up to `count` bytes read at `offset` to `buffer`; returns the number appended.
    func read(into buffer: inout [UInt8], count: Int, at offset: Int) throws -> Int {
        guard count > 0, offset < size else { return 0 }
        if let contents {
            let end = min(contents.count, offset + min(count, size - offset))
            guard offset < end else { return 0 }
            buffer.append(contentsOf: contents[offset..<end])
            return end - offset
        }
        let wanted = min(count, size - offset)
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: wanted))
        var done = 0
        while done < wanted {
            let got = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return pread(descriptor, base + start + done, wanted - done, off_t(offset + done))
            }
            if got < 0 {
                if errno == EINTR { continue }
                buffer.removeLast(wanted)
                throw ScanProblem(kind: .unreadable, detail: "read failed (errno \(errno))", offset: offset)
            }
            if got == 0 { break }
            done += got
        }
        if done < wanted { buffer.removeLast(wanted - done) }
        return done
    }

    /// Reads exactly `count` bytes at `offset`, or throws `truncated`.
    func readExactly(count: Int, at offset: Int) throws -> [UInt8] {
        if let contents, offset == 0, count == contents.count { return contents }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        let got = try read(into: &bytes, count: count, at: offset)
        guard got == count else {
            throw ScanProblem.truncated("file ends inside a \(count)-byte structure", at: offset)
        }
        return bytes
    }
}
