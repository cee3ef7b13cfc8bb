import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Bulk blob bytes written and read around the page cache (`O_DIRECT`), where the file
/// system allows it. See docs/decisions/0008-direct-io.md: on the virtual machines Vessel is
/// measured on, filling fresh page-cache pages costs about 4 µs of kernel time per 4 KiB, so
/// a 2 GiB blob written through the cache burns 8 s of CPU, and through `O_DIRECT` 0.3 s.
///
/// Every file keeps an ordinary descriptor; the direct one is a second descriptor of the same
/// file, used only for whole aligned blocks. Heads and tails that are not aligned go through
/// the ordinary descriptor (Linux keeps the two coherent), and a file system that refuses
/// `O_DIRECT` (tmpfs, some network file systems) simply gets no direct descriptor.
public enum DirectIO {
    /// Offsets, lengths and buffer addresses of direct transfers are multiples of this.
    public static let alignment = 4096

    /// Whether direct I/O is used at all (`VESSEL_DIRECT_IO=0` turns it off, to compare).
    public static let enabled: Bool = {
        guard let value = getenv("VESSEL_DIRECT_IO") else { return true }
        return String(cString: value) != "0"
    }()

    /// A second descriptor of `path` that bypasses the page cache, or nil when direct I/O is
    /// off or the file system refuses it. `flags` is `O_RDONLY`, `O_WRONLY` or `O_RDWR`.
    public static func open(_ path: String, flags: Int32) -> Int32? {
        #if os(Linux)
        guard enabled else { return nil }
        let fd = Glibc.open(path, flags | oDirect | O_CLOEXEC)
        return fd >= 0 ? fd : nil
        #else
        return nil
        #endif
    }

    /// An aligned buffer for direct transfers; the caller deallocates it.
    public static func allocate(_ byteCount: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer.allocate(byteCount: roundUp(byteCount), alignment: alignment)
    }

    /// The size of the buffers `borrow` keeps for reuse.
    public static let pooledSize = 1 << 20

    /// Buffers of `pooledSize` handed back, for the next `borrow`. A server writes and hashes
    /// thousands of chunks; allocating an aligned megabyte for each left the heap fragmented
    /// (the server's peak memory grew with the size of the blob) and faulted in fresh pages.
    private static let pool = Mutex<[PooledBuffer]>([])
    private static let poolLimit = 16

    private struct PooledBuffer: @unchecked Sendable {
        let buffer: UnsafeMutableRawBufferPointer
    }

    /// An aligned buffer of `byteCount` bytes (rounded up), from the pool when it is
    /// `pooledSize`; hand it to `giveBack` when done.
    public static func borrow(_ byteCount: Int) -> UnsafeMutableRawBufferPointer {
        if roundUp(byteCount) == pooledSize, let reused = pool.withLock({ $0.popLast() }) { return reused.buffer }
        return allocate(byteCount)
    }

    /// Returns a buffer from `borrow`: kept for reuse when it is `pooledSize` and the pool has
    /// room, deallocated otherwise.
    public static func giveBack(_ buffer: UnsafeMutableRawBufferPointer) {
        if buffer.count == pooledSize {
            let kept = pool.withLock { pool -> Bool in
                guard pool.count < poolLimit else { return false }
                pool.append(PooledBuffer(buffer: buffer))
                return true
            }
            if kept { return }
        }
        buffer.deallocate()
    }

    #if os(Linux)
    /// `O_DIRECT`, which Glibc's Swift overlay does not export (it needs `_GNU_SOURCE`).
    #if arch(arm64)
    static let oDirect: Int32 = 0o200000
    #else
    static let oDirect: Int32 = 0o40000
    #endif
    #endif

    static func roundUp(_ n: Int) -> Int { (n + alignment - 1) & ~(alignment - 1) }

    /// A failed system call: its `errno`.
    public struct Failure: Error, Sendable {
        public let code: Int32
    }

    /// `pwrite` of all of `bytes` at `offset`, retrying short writes and EINTR.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(Failure) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(code: errno)
            }
            done += n
        }
    }

    /// Reads `range` of a file in blocks of up to `scratch.count` bytes and hands each to
    /// `body`; returns where it stopped (short of `range.upperBound` at the end of the file).
    /// Reads go through `direct` when given (from the aligned block below `range`, with the
    /// head skipped), and through `fd` otherwise or when the file system refuses one.
    /// `scratch` must come from `allocate` or `borrow`.
    public static func read(fd: Int32, direct: Int32?, range: Range<UInt64>, scratch: UnsafeMutableRawBufferPointer,
                            _ body: (UnsafeRawBufferPointer) -> Void) throws(Failure) -> UInt64 {
        var offset = range.lowerBound
        var direct = direct
        while offset < range.upperBound {
            let wanted = Int(min(UInt64(scratch.count), range.upperBound - offset))
            var n: Int
            var skip = 0
            if let directFD = direct {
                let start = offset & ~UInt64(alignment - 1)
                skip = Int(offset - start)
                let length = min(scratch.count, roundUp(skip + wanted))
                n = pread(directFD, scratch.baseAddress, length, off_t(start))
                if n < 0 && errno == EINVAL {
                    direct = nil
                    continue
                }
                if n >= 0 { n = max(0, min(n - skip, wanted)) }
            } else {
                n = pread(fd, scratch.baseAddress, wanted, off_t(offset))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(code: errno)
            }
            if n == 0 { break }
            body(UnsafeRawBufferPointer(rebasing: scratch[skip..<skip + n]))
            offset += UInt64(n)
        }
        return offset
    }
}

/// Writes a stream of bytes to consecutive offsets of a file from `start` on: bytes are
/// staged in an aligned buffer and written in whole aligned blocks through the direct
/// descriptor; an unaligned head (up to the first block boundary) and the tail left at
/// `flush` go through the ordinary one. Without a direct descriptor the staged blocks go
/// through the ordinary one too. One writer per stream; not for concurrent use.
public final class DirectFileWriter {
    private let fd: Int32
    private var direct: Int32?
    private let staging: UnsafeMutableRawBufferPointer
    private var staged = 0
    /// Where the staged bytes start in the file; everything before is written.
    public private(set) var written: UInt64

    /// - Parameters:
    ///   - capacity: the staging buffer (rounded up to the alignment); writes are this large.
    public init(fd: Int32, direct: Int32?, at start: UInt64, capacity: Int = 1 << 20) {
        self.fd = fd
        self.direct = direct
        self.written = start
        self.staging = DirectIO.borrow(max(capacity, DirectIO.alignment))
    }

    deinit { DirectIO.giveBack(staging) }

    /// The end of the bytes handed in so far (written or staged).
    public var position: UInt64 { written + UInt64(staged) }

    /// Whether `write` of `count` bytes would fill the staging buffer and so write to the file
    /// (and wait for it), rather than only copy the bytes into the staging buffer.
    public func writesThrough(_ count: Int) -> Bool {
        let misalignment = Int(written % UInt64(DirectIO.alignment))
        return count >= (misalignment == 0 ? staging.count : DirectIO.alignment - misalignment) - staged
    }

    /// Stages `bytes`, writing every block that fills up.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(DirectIO.Failure) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            // An unaligned start stages only up to the first boundary, which then goes out
            // through the ordinary descriptor.
            let misalignment = Int(written % UInt64(DirectIO.alignment))
            let room = (misalignment == 0 ? staging.count : DirectIO.alignment - misalignment) - staged
            let take = min(room, bytes.count - done)
            (staging.baseAddress! + staged).copyMemory(from: base + done, byteCount: take)
            staged += take
            done += take
            if take == room { try writeStaged() }
        }
    }

    /// Writes whatever is staged.
    public func flush() throws(DirectIO.Failure) {
        if staged > 0 { try writeStaged() }
    }

    private func writeStaged() throws(DirectIO.Failure) {
        let aligned = written % UInt64(DirectIO.alignment) == 0 ? staged & ~(DirectIO.alignment - 1) : 0
        if aligned > 0, let directFD = direct {
            do {
                try DirectIO.writeAll(directFD, UnsafeRawBufferPointer(rebasing: staging[0..<aligned]), at: written)
            } catch let failure where failure.code == EINVAL {
                // The file system took the open but not the write: go on without it.
                direct = nil
                try DirectIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: staging[0..<aligned]), at: written)
            }
        } else if aligned > 0 {
            try DirectIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: staging[0..<aligned]), at: written)
        }
        if aligned < staged {
            try DirectIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: staging[aligned..<staged]), at: written + UInt64(aligned))
        }
        written += UInt64(staged)
        staged = 0
    }
}
