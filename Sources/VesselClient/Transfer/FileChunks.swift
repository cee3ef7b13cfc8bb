import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A file's bytes as an async sequence of 1 MiB buffers, read on demand (back-pressure: the
/// next chunk is read only when the HTTP client asks for it).
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let offset: UInt64
    let length: UInt64
    let progress: TransferProgress?
    static let chunkSize = 1 << 20

    struct AsyncIterator: AsyncIteratorProtocol {
        let fd: Int32
        var position: UInt64
        let end: UInt64
        let progress: TransferProgress?

        mutating func next() async throws -> ByteBuffer? {
            guard position < end else {
                close(fd)
                return nil
            }
            let count = Int(Swift.min(UInt64(FileChunks.chunkSize), end - position))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            let at = position, fd = fd
            let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw -> Int in
                var done = 0
                while done < count {
                    let n = pread(fd, raw.baseAddress! + done, count - done, off_t(at) + off_t(done))
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw FileChunksError.shortRead }
                    done += n
                }
                return done
            }
            position += UInt64(read)
            progress?.add(UInt64(read))
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        return AsyncIterator(fd: fd, position: offset, end: fd >= 0 ? offset + length : offset, progress: progress)
    }
}

enum FileChunksError: Error, CustomStringConvertible {
    case shortRead
    var description: String { "a file became shorter while it was uploaded" }
}
