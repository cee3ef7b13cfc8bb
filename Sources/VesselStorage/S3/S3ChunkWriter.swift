import AsyncHTTPClient
import enum Crypto.Insecure
import NIOCore
import Synchronization
import VesselCore

/// Streams one chunk as one part of the session's multipart upload (`UNSIGNED-PAYLOAD`: the
/// bytes are not in memory to hash first), computing its MD5 on the way and comparing it
/// with the part's ETag S3 answers with. A chunk already stored is not sent again: the bytes
/// received are only compared (by MD5) with the stored part.
final class S3ChunkWriter: ChunkWriter {
    private struct State {
        var md5 = Insecure.MD5()
        var count: UInt64 = 0
        var finished = false
    }

    private let store: S3BlobStore
    private let session: String
    private let index: Int
    private let expected: UInt64
    private let stored: S3Client.Part?
    private let pipe = ByteBufferPipe()
    private let upload: Task<String, any Error>?
    private let state = Mutex(State())
    private let released = Atomic<Bool>(false)
    /// Writes the chunk into the session's local spool file (nil: not kept locally).
    private let spoolFile: StagedFileWriter?
    private let offset: UInt64

    init(store: S3BlobStore, session: String, key: String, uploadID: String, index: Int, range: Range<UInt64>, stored: S3Client.Part?, spool: S3UploadSpool.Session?) {
        self.spoolFile = spool.map {
            StagedFileWriter(fd: $0.fd, path: $0.path, at: range.lowerBound, threadPool: store.spool.threadPool, doing: "keep a local copy of a chunk")
        }
        self.offset = range.lowerBound
        self.store = store
        self.session = session
        self.index = index
        self.expected = UInt64(range.count)
        self.stored = stored
        if stored == nil {
            let client = store.client, pipe = pipe, length = Int64(range.count)
            upload = Task {
                do {
                    return try await client.uploadPart(key, uploadID: uploadID, number: index + 1, body: .stream(pipe, length: .known(length)), payloadHash: SigV4Signer.unsignedPayload)
                } catch {
                    pipe.fail(error)
                    throw error
                }
            }
        } else {
            upload = nil
        }
    }

    func write(_ buffer: ByteBuffer) async throws {
        let expected = expected, index = index
        try state.withLock { state throws(VesselError) in
            guard !state.finished else { throw VesselError.internalError("write after the chunk finished") }
            let (total, overflow) = state.count.addingReportingOverflow(UInt64(buffer.readableBytes))
            guard !overflow, total <= expected else {
                throw VesselError(.sizeMismatch, "chunk \(index) must be \(expected) bytes; more arrived")
            }
            buffer.withUnsafeReadableBytes { state.md5.update(bufferPointer: $0) }
            state.count = total
        }
        guard let upload else { return }
        do {
            try await spoolFile?.write(buffer)
            try await pipe.send(buffer)
        } catch {
            // The upload ended first: report its error.
            await abort()
            if case .failure(let failure) = await upload.result { throw failure }
            throw error
        }
    }

    func commit() async throws -> Bool {
        let (count, md5) = try state.withLock { state throws(VesselError) in
            guard !state.finished else { throw VesselError.internalError("commit after the chunk finished") }
            state.finished = true
            return (state.count, Hex.encode(state.md5.finalize()))
        }
        defer { release() }
        guard count == expected else {
            pipe.fail(CancellationError())
            upload?.cancel()
            throw VesselError(.sizeMismatch, "chunk \(index) must be \(expected) bytes, but \(count) arrived; send it again")
        }
        guard let upload else {
            guard stored?.size == count, stored?.etag.lowercased() == md5 else {
                throw VesselError.conflict("chunk \(index) is already stored with different bytes")
            }
            return false
        }
        pipe.finish()
        if let spoolFile { try await store.spool.threadPool.runIfActive { try spoolFile.flushNow() } }
        let etag = try await upload.value
        guard etag.count != 32 || etag.lowercased() == md5 else {
            store.spool.forget(session, chunk: index)
            throw VesselError(.unavailable, "object storage stored chunk \(index) with a different checksum than was sent; send it again")
        }
        if spoolFile != nil { store.spool.recorded(session, chunk: index, md5: md5, range: offset..<offset + expected) } else { store.spool.forget(session, chunk: index) }
        return true
    }

    func abort() async {
        state.withLock { $0.finished = true }
        pipe.fail(CancellationError())
        upload?.cancel()
        release()
    }

    private func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        store.locks.unlockChunk(session, index)
    }

    deinit {
        upload?.cancel()
        release()
    }
}
