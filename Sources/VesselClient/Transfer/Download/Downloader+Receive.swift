import AsyncHTTPClient
import struct Crypto.SHA256
import Foundation
import NIOCore
import NIOPosix
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

extension Downloader {
    /// Writes the response body at `position` (advanced as bytes land), never past `end`,
    /// feeding `feed` (hashed on its own task) or else `hasher`, when given. Bytes received
    /// before a failure are written too.
    func receive(_ response: HTTPClientResponse, digest: Digest, into file: PartialFile, at position: inout UInt64, end: UInt64, hasher: inout SHA256?, feed: OrderedHasher? = nil) async throws {
        let writer = DirectFileWriter(fd: file.fd, direct: file.direct, at: position, capacity: Self.stagingSize)
        do {
            defer { position = writer.written }
            do {
                for try await var chunk in response.body {
                    let count = UInt64(chunk.readableBytes)
                    guard writer.position + count <= end else {
                        throw VesselError(.digestMismatch, "the server sent more bytes of \(digest) than asked for")
                    }
                    if let feed {
                        try await feed.submit(chunk, at: writer.position)
                    } else {
                        chunk.withUnsafeReadableBytes { hasher?.update(bufferPointer: $0) }
                    }
                    if writer.writesThrough(chunk.readableBytes) {
                        // The disk write waits on a thread of NIO's blocking pool, not on one
                        // of the few threads every download's receiving and hashing share.
                        let unchecked = UncheckedWriter(writer: writer)
                        try await NIOThreadPool.singleton.runIfActive { [chunk] in
                            try chunk.withUnsafeReadableBytes { try unchecked.writer.write($0) }
                        }
                    } else {
                        try chunk.withUnsafeReadableBytes { try writer.write($0) }
                    }
                    chunk.moveReaderIndex(forwardBy: chunk.readableBytes)
                    progress?.add(count)
                }
            } catch {
                try? writer.flush()
                throw error
            }
            try writer.flush()
        } catch let failure as DirectIO.Failure {
            throw VesselError(.insufficientStorage, "cannot write the download: \(String(cString: strerror(failure.code)))")
        } catch let error as VesselError {
            throw error
        } catch {
            throw VesselError(.unavailable, "the download of \(digest) was cut at byte \(position): \(error)")
        }
    }
}

/// A download's writer handed to a blocking-pool thread for one write, while its task waits.
private struct UncheckedWriter: @unchecked Sendable {
    let writer: DirectFileWriter
}
