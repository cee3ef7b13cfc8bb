#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only file descriptor with `pread` and its size; internal helper for header reads
/// and the memory-mapped reader. Errors never include the path (messages may reach users).
struct SafetensorsPosixFile: Sendable {
    let descriptor: Int32
    let size: UInt64

    init(path: String) throws(SafetensorsError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .ioError(operation: "open the file", reason: Self.lastError()) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = Self.lastError()
            safetensorsCloseDescriptor(fd)
            throw .ioError(operation: "inspect the file", reason: reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            safetensorsCloseDescriptor(fd)
            throw .ioError(operation: "open the file", reason: "not a regular file")
        }
        self.descriptor = fd
        self.size = UInt64(clamping: info.st_size)
    }

    func close() { safetensorsCloseDescriptor(descriptor) }

    /// Reads exactly `count` bytes at `offset` (fewer only at end of file).
    func read(at offset: UInt64, count: Int) throws(SafetensorsError) -> [UInt8] {
        guard count > 0 else { return [] }
        guard offset <= UInt64(Int64.max) - UInt64(count) else {
            throw .ioError(operation: "read the file", reason: "offset out of range")
        }
        var failure: String? = nil
        // Not zero-filled first: `pread` writes every byte that is kept.
        let result = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let got = pread(descriptor, buffer.baseAddress.map { $0 + done }, count - done, off_t(offset) + off_t(done))
                if got < 0 {
                    if errno == EINTR { continue }
                    failure = Self.lastError()
                    break
                }
                if got == 0 { break }
                done += got
            }
            initialized = done
        }
        if let failure { throw .ioError(operation: "read the file", reason: failure) }
        return result
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }
}

/// Closes a descriptor, ignoring errors (nothing useful can be done about them on a
/// read-only descriptor).
func safetensorsCloseDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}
