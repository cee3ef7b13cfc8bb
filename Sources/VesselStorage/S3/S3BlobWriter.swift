import AsyncHTTPClient
import NIOCore
import Synchronization
import VesselCore

/// A direct blob write to S3: bytes are hashed as they arrive and buffered into parts of a
/// multipart upload at the blob's final key, each part signed with its own SHA-256 (so S3
/// checks it). `commit` verifies digest and size first and only then completes the upload;
/// nothing is visible before. A blob that fits in one part is sent as one `PUT` after it was
/// verified, signed with its digest. Memory: at most one part.
final class S3BlobWriter: BlobWriter {
    private struct State {
        var counter: DigestingCounter
        var pending = ByteBuffer()
        var uploadID: String?
        var parts: [S3Client.Part] = []
        var finished = false
        var pieces: [String]?
    }

    private let store: S3BlobStore
    private let key: String
    private let partSize: Int
    private let state: Mutex<State>

    init(store: S3BlobStore, key: String, counter: DigestingCounter, partSize: Int) {
        self.store = store
        self.key = key
        self.partSize = partSize
        self.state = Mutex(State(counter: counter))
    }

    func write(_ buffer: ByteBuffer) async throws {
        var full: [ByteBuffer] = []
        var uploadID: String?
        var firstPart = 0
        try state.withLock { state throws(VesselError) in
            guard !state.finished else { throw VesselError.internalError("write after the upload finished") }
            try state.counter.update(buffer)
            var incoming = buffer
            state.pending.writeBuffer(&incoming)
            while state.pending.readableBytes >= partSize, let part = state.pending.readSlice(length: partSize) {
                full.append(part)
            }
            if !full.isEmpty { state.pending.discardReadBytes() }
            uploadID = state.uploadID
            firstPart = state.parts.count + 1
        }
        guard !full.isEmpty else { return }
        do {
            let id: String
            if let uploadID { id = uploadID } else {
                id = try await store.client.createMultipartUpload(key)
                state.withLock { $0.uploadID = id }
            }
            for (offset, part) in full.enumerated() {
                let number = firstPart + offset
                let etag = try await store.client.uploadPart(key, uploadID: id, number: number, body: .bytes(part), payloadHash: Hex.encode(SHA256Hasher.hash(part)), bytes: part.readableBytes)
                state.withLock { $0.parts.append(.init(number: number, etag: etag, size: UInt64(part.readableBytes))) }
            }
        } catch {
            await abort()
            throw error
        }
    }

    func commit() async throws {
        let (counter, pending, uploadID, parts) = try state.withLock { state throws(VesselError) in
            guard !state.finished else { throw VesselError.internalError("commit after the upload finished") }
            state.finished = true
            return (state.counter, state.pending, state.uploadID, state.parts)
        }
        do {
            try counter.verify()
            state.withLock { $0.pieces = counter.pieces }
            let client = store.client
            if try await client.headObject(key) != nil {
                // Already stored (identical bytes, by its name): leave it, add no new version.
                if let uploadID { try? await client.abortMultipartUpload(key, uploadID: uploadID) }
                return
            }
            guard let uploadID else {
                try await client.putObject(key, body: pending, sha256Hex: counter.expectedDigest.hex)
                return
            }
            var all = parts
            if pending.readableBytes > 0 {
                let number = parts.count + 1
                let etag = try await client.uploadPart(key, uploadID: uploadID, number: number, body: .bytes(pending), payloadHash: Hex.encode(SHA256Hasher.hash(pending)), bytes: pending.readableBytes)
                all.append(.init(number: number, etag: etag, size: UInt64(pending.readableBytes)))
            }
            try await client.completeMultipartUpload(key, uploadID: uploadID, parts: all)
        } catch {
            if let uploadID { try? await store.client.abortMultipartUpload(key, uploadID: uploadID) }
            throw error
        }
    }

    var pieceDigests: [String]? { state.withLock { $0.pieces } }

    func abort() async {
        let uploadID = state.withLock { state -> String? in
            defer { state.finished = true; state.uploadID = nil; state.pending = ByteBuffer() }
            return state.uploadID
        }
        if let uploadID { try? await store.client.abortMultipartUpload(key, uploadID: uploadID) }
    }
}
