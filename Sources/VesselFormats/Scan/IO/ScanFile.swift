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
/// pickle would otherwise cost several reads (end record, directory, headers, members). Only
/// regular files are scanned: FIFOs, directories and devices are refused (a character device
/// that answers that first read short of the limit, rare as it is, reads as a small file).
final class ScanFile {
    let descriptor: Int32
    let size: Int
    private var contents: [UInt8]?

    /// Opens `path` read-only without following a final symlink.
    /// - Throws: `ScanProblem` of kind `unreadable`.
    init(path: String, wholeFileLimit: Int = 0) throws {
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ELOOP {
                throw ScanProblem(kind: .symlink, detail: "symbolic links are not followed", offset: nil)
            }
            throw ScanProblem(kind: .unreadable, detail: "cannot open file (errno \(errno))", offset: nil)
        }
        descriptor = fd
        // The first read also tells a small file's size when it stops short: no `fstat` (a
        // system call is about a quarter of scanning a small file). It asks for at most
        // `probeLength`: a larger buffer for every file cost more in the allocator than the
        // call it saves. `pread` refuses what cannot be read at an offset (FIFOs,
        // directories); a read that fills the probe or reads nothing (an empty file,
        // /dev/null) is followed by `fstat`.
        var head: [UInt8] = []
        if wholeFileLimit > 0 {
            let probe = min(wholeFileLimit, Self.probeLength)
            var failure: Int32 = 0
            head = [UInt8](unsafeUninitializedCapacity: probe) { buffer, count in
                var got = -1
                repeat { got = pread(fd, buffer.baseAddress, probe, 0) } while got < 0 && errno == EINTR
                if got < 0 { failure = errno }
                count = max(got, 0)
            }
            if failure != 0 {
                close(fd)
                throw ScanProblem(kind: .unreadable, detail: failure == ESPIPE || failure == EISDIR ? "not a regular file" : "read failed (errno \(failure))", offset: nil)
            }
            if !head.isEmpty && head.count < probe {
                size = head.count
                contents = head
                return
            }
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size >= 0 else {
            close(fd)
            throw ScanProblem(kind: .unreadable, detail: "not a regular file", offset: nil)
        }
        size = Int(info.st_size)
        if size <= wholeFileLimit {
            var bytes = head
            _ = try read(into: &bytes, count: size - bytes.count, at: bytes.count)
            contents = bytes
        }
    }

    /// Bytes the first read asks for.
    static let probeLength = 16 << 10

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
