/// JSON shapes of resumable upload sessions (`/api/v1/models/:owner/:name/uploads`).

/// `POST …/uploads`: start a session for one blob, or continue the caller's live one.
public struct CreateUploadRequest: Codable, Sendable {
    public var digest: Digest
    public var size: UInt64

    public init(digest: Digest, size: UInt64) {
        self.digest = digest
        self.size = size
    }
}

/// A session's state: which chunks the server has stored durably.
public struct UploadSessionInfo: Codable, Sendable, Equatable {
    public var uploadId: String
    public var digest: Digest
    public var size: UInt64
    public var chunkSize: UInt64
    public var chunks: Int
    /// Indices of the chunks stored durably, ascending.
    public var received: [Int]
    /// The lowest index not yet received, or nil when every chunk is stored.
    public var nextChunk: Int?
    public var expiresAt: String

    public init(uploadId: String, digest: Digest, size: UInt64, chunkSize: UInt64, chunks: Int, received: [Int], expiresAt: String) {
        self.uploadId = uploadId
        self.digest = digest
        self.size = size
        self.chunkSize = chunkSize
        self.chunks = chunks
        self.received = received
        let have = Set(received)
        self.nextChunk = (0..<chunks).first { !have.contains($0) }
        self.expiresAt = expiresAt
    }

    /// Chunk indices still to send.
    public var missing: [Int] {
        let have = Set(received)
        return (0..<chunks).filter { !have.contains($0) }
    }

    enum CodingKeys: String, CodingKey {
        case digest, size, chunks, received
        case uploadId = "upload_id"
        case chunkSize = "chunk_size"
        case nextChunk = "next_chunk"
        case expiresAt = "expires_at"
    }
}

/// `PUT …/uploads/:id/chunks/:n`: the chunk is durable.
public struct ChunkReceipt: Codable, Sendable, Equatable {
    public var index: Int
    public var size: UInt64
    /// False when an identical chunk was already stored.
    public var created: Bool

    public init(index: Int, size: UInt64, created: Bool) {
        self.index = index
        self.size = size
        self.created = created
    }
}

/// A blob upload's outcome (simple `PUT` or a completed session).
public struct UploadedBlob: Codable, Sendable, Equatable {
    public var digest: Digest
    public var size: UInt64
    /// False when the blob was already stored.
    public var created: Bool

    public init(digest: Digest, size: UInt64, created: Bool) {
        self.digest = digest
        self.size = size
        self.created = created
    }
}
