import AsyncHTTPClient
import NIOCore
import VesselCore

/// Resumable upload sessions (`…/uploads`).
extension APIClient {
    /// Starts a session for a blob, or continues this principal's live one for the same blob.
    /// - Throws: `already_exists` when the server already stores the blob.
    public func startUpload(_ model: ModelName, digest: Digest, size: UInt64) async throws -> UploadSessionInfo {
        try await call(.POST, "\(model.apiPath)/uploads", body: CreateUploadRequest(digest: digest, size: size), as: UploadSessionInfo.self)
    }

    public func uploadStatus(_ model: ModelName, id: String) async throws -> UploadSessionInfo {
        try await call(.GET, "\(model.apiPath)/uploads/\(id.percentEscaped)", as: UploadSessionInfo.self)
    }

    /// Sends chunk `index`: `length` bytes of the file at `path` from `offset`, streamed.
    public func putChunk(_ model: ModelName, id: String, index: Int, path: String, offset: UInt64, length: UInt64) async throws -> ChunkReceipt {
        var request = request(.PUT, "\(model.apiPath)/uploads/\(id.percentEscaped)/chunks/\(index)")
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .stream(FileChunks(path: path, offset: offset, length: length, progress: nil), length: .known(Int64(length)))
        let response = try await send(request)
        let body = try await response.body.collect(upTo: 1 << 20)
        return try decode(ChunkReceipt.self, body, path: "chunk \(index)")
    }

    public func completeUpload(_ model: ModelName, id: String) async throws -> UploadedBlob {
        try await call(.POST, "\(model.apiPath)/uploads/\(id.percentEscaped)/complete", as: UploadedBlob.self)
    }
}
