import AsyncHTTPClient
import Foundation
import NIOCore
import VesselCore

/// Upload sessions on S3: session `<id>` is one multipart upload at `<prefix>/uploads/<id>`,
/// chunk n its part n + 1 (so chunks must be at least S3's 5 MiB, except the last).
///
/// Which chunks are stored is asked of S3 (`ListParts`), so any replica can continue a
/// session. Completing runs `CompleteMultipartUpload` into `uploads/<id>`, then re-reads that
/// object and hashes it — the replica completing a session never has the hash state of
/// chunks other replicas received — and only when digest and size match copies it to
/// `blobs/sha256/<hex>` (server-side) and deletes it. A crash after the completion leaves the
/// assembled object under `uploads/`; completing again verifies and copies it.
extension S3BlobStore: ChunkedUploadStore {
    static func checkID(_ id: String) throws(VesselError) {
        let safe = !id.isEmpty && id.count <= 100 && id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
        guard safe else { throw .invalidArgument("upload id '\(id.prefix(100))' is not valid") }
    }

    func sessionKey(_ id: String) -> String { client.location.key("uploads/\(id)") }

    /// The multipart upload of a session, from this process's memory or from S3.
    func uploadID(of id: String) async throws -> String? {
        if let known = uploadIDs.withLock({ $0[id] }) { return known }
        let key = sessionKey(id)
        // Several uploads on one key can only come from racing starts: the oldest one wins.
        let found = try await client.listMultipartUploads(prefix: key).filter { $0.key == key }
            .min { ($0.initiated, $0.uploadID) < ($1.initiated, $1.uploadID) }
        if let found { uploadIDs.withLock { $0[id] = found.uploadID } }
        return found?.uploadID
    }

    public func beginSession(_ id: String, plan: ChunkPlan) async throws {
        try Self.checkID(id)
        guard plan.chunks <= 1 || plan.chunkSize >= ChunkPlan.minimumPartSize else {
            throw VesselError.invalidArgument("S3 storage needs upload chunks of at least 5 MiB (this session uses \(plan.chunkSize) bytes)")
        }
        guard plan.size > 0, try await uploadID(of: id) == nil else { return }
        let created = try await client.createMultipartUpload(sessionKey(id))
        uploadIDs.withLock { $0[id] = created }
    }

    public func storedChunks(_ id: String) async throws -> [Int] {
        try Self.checkID(id)
        guard let upload = try await uploadID(of: id) else { return [] }
        do {
            return try await client.listParts(sessionKey(id), uploadID: upload).map { $0.number - 1 }
        } catch let error as VesselError where error.code == .notFound {
            uploadIDs.withLock { $0[id] = nil }
            return []
        }
    }

    public func makeChunkWriter(_ id: String, plan: ChunkPlan, index: Int) async throws -> any ChunkWriter {
        try Self.checkID(id)
        let range = try plan.range(of: index)
        guard let upload = try await uploadID(of: id) else {
            throw VesselError.notFound("upload \(id) has no chunk storage; start a new upload")
        }
        try locks.lockChunk(id, index)
        do {
            let stored = try await client.listParts(sessionKey(id), uploadID: upload).first { $0.number == index + 1 }
            let local = stored == nil ? spool.file(for: id) : nil
            return S3ChunkWriter(store: self, session: id, key: sessionKey(id), uploadID: upload, index: index, range: range, stored: stored, spool: local)
        } catch {
            locks.unlockChunk(id, index)
            throw error
        }
    }

    public func completeSession(_ id: String, plan: ChunkPlan, digest: Digest) async throws -> Bool {
        try await complete(id, plan: plan, digest: digest).created
    }

    /// The piece digests come from the pass that verifies the blob: the spool's hashing while
    /// the chunks arrived, or the re-read of the assembled object (decision 0038).
    public func complete(_ id: String, plan: ChunkPlan, digest: Digest) async throws -> CompletedSession {
        try Self.checkID(id)
        try locks.lockSession(id)
        defer { locks.unlockSession(id) }
        let key = sessionKey(id)
        // The chunks are verified also when the blob is stored already (completing proves
        // possession); then nothing is copied, so no second object or object version appears.
        let stored = try await client.headObject(blobKey(digest)) != nil
        if plan.size == 0 {
            guard digest.hex == SigV4Signer.emptyPayloadHash else {
                try await deleteSession(id)
                throw VesselError(.digestMismatch, "an empty upload hashes to the empty digest, not the declared \(digest); the upload was discarded")
            }
            let pieces: [String]? = pieceSize == nil ? nil : []
            if stored {
                try await deleteSession(id)
                return CompletedSession(created: false, pieceDigests: pieces)
            }
            try await client.putObject(blobKey(digest), body: ByteBuffer(), sha256Hex: SigV4Signer.emptyPayloadHash)
            try await deleteSession(id)
            return CompletedSession(created: true, pieceDigests: pieces)
        }
        var spooled: String?
        if let upload = try await uploadID(of: id) {
            let parts = try await client.listParts(key, uploadID: upload)
            spooled = spool.complete(id, parts: parts.filter { $0.number <= plan.chunks }, chunks: plan.chunks)
            let have = Set(parts.map { $0.number - 1 })
            let missing = (0..<plan.chunks).filter { !have.contains($0) }
            guard missing.isEmpty else {
                throw VesselError(.conflict, "\(missing.count) chunk(s) of upload \(id) are not stored yet; send them, then complete again", details: missing.map(String.init))
            }
            try await client.completeMultipartUpload(key, uploadID: upload, parts: parts.filter { $0.number <= plan.chunks })
            uploadIDs.withLock { $0[id] = nil }
        }
        guard let assembled = try await client.headObject(key) else {
            throw VesselError(.conflict, "upload \(id) has no stored chunks; send them, then complete again", details: (0..<plan.chunks).map(String.init))
        }
        guard assembled.size == plan.size else {
            try await deleteSession(id)
            throw VesselError(.sizeMismatch, "the uploaded chunks hold \(assembled.size) bytes, but \(plan.size) were declared; the upload was discarded")
        }
        if let spooled {
            // Every chunk came through this replica: hash the local copy, no re-read — mostly
            // hashed already while the chunks arrived (see S3UploadSpool).
            let actual: Digest, pieces: [String]?
            if let incremental = try await spool.hashed(id, chunks: plan.chunks) {
                (actual, pieces) = incremental
            } else {
                let pieceSize = pieceSize
                (actual, pieces) = try await threadPool.runIfActive { try FileSystemBlobStore.hashFile(spooled, size: plan.size, pieceSize: pieceSize) }
            }
            guard actual == digest else {
                try await deleteSession(id)
                throw VesselError(.digestMismatch, "the uploaded chunks hash to \(actual), not the declared \(digest); the upload was discarded")
            }
            if stored {
                spool.remove(id, keep: false)
                try await deleteSession(id)
                return CompletedSession(created: false, pieceDigests: pieces)
            }
            try await copy(key, to: blobKey(digest), size: assembled.size)
            spool.remove(id, keep: true)
            cache.insert(spooled, as: digest)
            completedLocally.add(1, ordering: .relaxed)
            try await deleteSession(id)
            return CompletedSession(created: true, pieceDigests: pieces)
        }
        // Re-read and hash; the bytes also land in the local cache, where the validators that
        // run at commit find them.
        let file = try cache.makeFile(pieceSize: pieceSize)
        let actual: Digest
        do {
            let response = try await client.getObject(key)
            let reader = S3BodyReader(response.body, expected: assembled.size, endpoint: client.location.endpoint)
            while let buffer = try await reader.next() { try await file.write(buffer) }
            actual = try await file.finish()
        } catch {
            file.discard()
            throw error
        }
        guard actual == digest else {
            file.discard()
            try await deleteSession(id)
            throw VesselError(.digestMismatch, "the uploaded chunks hash to \(actual), not the declared \(digest); the upload was discarded")
        }
        if stored {
            file.discard()
            try await deleteSession(id)
            return CompletedSession(created: false, pieceDigests: file.pieces)
        }
        do {
            try await copy(key, to: blobKey(digest), size: assembled.size)
        } catch {
            file.discard()
            throw error
        }
        file.commit(as: digest)
        completedByRereading.add(1, ordering: .relaxed)
        try await deleteSession(id)
        return CompletedSession(created: true, pieceDigests: file.pieces)
    }

    /// A server-side copy: one `CopyObject` up to 5 GiB, a multipart copy beyond.
    func copy(_ source: String, to key: String, size: UInt64) async throws {
        guard size > ChunkPlan.maximumPartSize else {
            try await client.copyObject(from: source, to: key)
            return
        }
        let partSize: UInt64 = 1 << 30
        let upload = try await client.createMultipartUpload(key)
        do {
            var parts: [S3Client.Part] = []
            var offset: UInt64 = 0
            while offset < size {
                let range = offset..<min(offset + partSize, size)
                let etag = try await client.uploadPartCopy(key, uploadID: upload, number: parts.count + 1, source: source, range: range)
                parts.append(.init(number: parts.count + 1, etag: etag, size: UInt64(range.count)))
                offset = range.upperBound
            }
            try await client.completeMultipartUpload(key, uploadID: upload, parts: parts)
        } catch {
            try? await client.abortMultipartUpload(key, uploadID: upload)
            throw error
        }
    }

    public func deleteSession(_ id: String) async throws {
        try Self.checkID(id)
        let key = sessionKey(id)
        for upload in try await client.listMultipartUploads(prefix: key) where upload.key == key {
            try await client.abortMultipartUpload(key, uploadID: upload.uploadID)
        }
        uploadIDs.withLock { $0[id] = nil }
        spool.remove(id)
        // The assembled object is scratch: on a versioned bucket its version is deleted for
        // good (a plain delete would keep it as a noncurrent version behind a delete marker).
        if let assembled = try await client.headObject(key) {
            try await client.deleteObject(key, versionID: assembled.versionID)
        }
    }

    public func sessionIDs() async throws -> [String] {
        let prefix = client.location.key("uploads/")
        let uploads = try await client.listMultipartUploads(prefix: prefix).map(\.key)
        let objects = try await client.listAllObjects(prefix: prefix).map(\.key)
        return Set((uploads + objects).map { String($0.dropFirst(prefix.count)) }).filter { !$0.isEmpty && !$0.contains("/") }.sorted()
    }
}
