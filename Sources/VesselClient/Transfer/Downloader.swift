import AsyncHTTPClient
import struct Crypto.SHA256
import Foundation
import NIOCore
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Downloads one blob into the cache: into a partial file named by its digest, resuming with
/// `Range` after an interruption, hashing every byte, renamed into the cache only when the
/// digest and size match.
struct Downloader: Sendable {
    let api: APIClient
    let cache: BlobCache
    let progress: TransferProgress?
    static let attempts = 4

    /// Returns the cached path and the number of bytes transferred.
    func fetch(model: ModelName, digest: Digest, size: UInt64) async throws -> (path: String, transferred: UInt64) {
        var transferred: UInt64 = 0
        var lastError: (any Error)?
        for attempt in 1...Self.attempts {
            do {
                let path = try await attemptFetch(model: model, digest: digest, size: size, transferred: &transferred)
                return (path, transferred)
            } catch let error as VesselError where error.code != .unavailable {
                throw error
            } catch {
                lastError = error
                if attempt < Self.attempts { try await Task.sleep(for: .milliseconds(200 * attempt)) }
            }
        }
        throw lastError ?? VesselError(.unavailable, "download of \(digest) failed")
    }

    private func attemptFetch(model: ModelName, digest: Digest, size: UInt64, transferred: inout UInt64) async throws -> String {
        let partial = cache.partialPath(of: digest)
        let fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VesselError.internalError("cannot create \(partial): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        var have = UInt64(info.st_size)
        if have > size {
            ftruncate(fd, 0)
            have = 0
        }
        // Re-hash the durable prefix so the final digest covers every byte.
        var hasher = SHA256()
        if have > 0 {
            var offset: UInt64 = 0
            var buffer = [UInt8](repeating: 0, count: 4 << 20)
            while offset < have {
                let want = Int(min(UInt64(buffer.count), have - offset))
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
                guard n > 0 else { break }
                hasher.update(data: buffer[0..<n])
                offset += UInt64(n)
            }
            have = offset
            progress?.add(have)
        }
        if have < size {
            var request = api.request(.GET, "\(model.apiPath)/blobs/\(digest)")
            if have > 0 { request.headers.add(name: "Range", value: "bytes=\(have)-") }
            var response = try await api.send(request)
            if [301, 302, 303, 307, 308].contains(response.status.code) {
                response = try await api.followStorageRedirect(response, range: have > 0 ? "bytes=\(have)-" : nil)
            }
            if have > 0 && response.status.code != 206 {
                // The server ignored the range: start over.
                ftruncate(fd, 0)
                have = 0
                hasher = SHA256()
            }
            var position = have
            do {
                for try await var chunk in response.body {
                    let count = UInt64(chunk.readableBytes)
                    guard position + count <= size else {
                        throw VesselError(.digestMismatch, "the server sent more than the \(size) bytes of \(digest)")
                    }
                    try chunk.withUnsafeReadableBytes { bytes in
                        hasher.update(bufferPointer: bytes)
                        var done = 0
                        while done < bytes.count {
                            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(position) + off_t(done))
                            if n < 0 && errno == EINTR { continue }
                            guard n > 0 else { throw VesselError(.insufficientStorage, "cannot write the download: \(String(cString: strerror(errno)))") }
                            done += n
                        }
                    }
                    chunk.moveReaderIndex(forwardBy: chunk.readableBytes)
                    position += count
                    transferred += count
                    progress?.add(count)
                }
            } catch let error as VesselError {
                throw error
            } catch {
                throw VesselError(.unavailable, "the download of \(digest) was cut at byte \(position): \(error)")
            }
            have = position
        }
        guard have == size else {
            throw VesselError(.unavailable, "the download of \(digest) ended after \(have) of \(size) bytes")
        }
        let actual = Digest(bytes: hasher.finalize())
        guard actual == digest else {
            unlink(partial)
            throw VesselError(.digestMismatch, "downloaded bytes hash to \(actual), not \(digest); the partial file was discarded")
        }
        fsync(fd)
        return try cache.insert(verifiedFile: partial, digest: digest)
    }
}
