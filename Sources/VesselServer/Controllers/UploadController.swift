import Hummingbird
import NIOCore
import VesselCore
import VesselMetadata
import VesselStorage

/// Resumable chunked uploads: a session per blob, chunks stored durably one by one, then a
/// verified commit (docs/decisions/0002-upload-sessions.md). A session belongs to the
/// principal that started it; to anyone else it does not exist.
struct UploadController {
    let store: any BlobIndex & UploadSessionStore & GrantStore
    let uploads: any ChunkedUploadStore
    let metrics: ServerMetrics
    /// The server's preferred chunk size (64 MiB unless configured for tests).
    let preferredChunkSize: UInt64
    /// How long a session lives after it was started or last resumed, in microseconds.
    let ttl: Int64
    let clock: @Sendable () -> Int64

    func register(_ routes: APIRoutes) {
        let base = "/api/v1/models/:owner/:name/uploads"
        routes.on(.post, base, .write) { request, context, caller in
            try await start(request, context: context, caller: caller)
        }
        routes.on(.get, "\(base)/:upload", .write) { _, context, caller in
            let session = try await liveSession(context, caller)
            return try JSONResponse.make(try await info(session))
        }
        routes.on(.put, "\(base)/:upload/chunks/:chunk", .write) { request, context, caller in
            try await metrics.upload { try await putChunk(request, context: context, caller: caller) }
        }
        routes.on(.post, "\(base)/:upload/complete", .write) { _, context, caller in
            try await complete(try await liveSession(context, caller), caller: caller)
        }
        routes.on(.delete, "\(base)/:upload", .write) { _, context, caller in
            let session = try await liveSession(context, caller)
            try await uploads.deleteSession(session.id)
            try await store.deleteUploadSession(id: session.id)
            return Response(status: .noContent)
        }
    }

    private func start(_ request: Request, context: AppContext, caller: Caller) async throws -> Response {
        guard let model = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no model") }
        let body = try await JSONResponse.decode(CreateUploadRequest.self, from: request, context: context)
        try Limits.checkSize(body.size, field: "the declared size")
        // Only a blob the caller may already use is reported as stored; any other upload goes
        // ahead as for a new blob, and its completion proves possession (issue 21, item 1).
        let readable = try await store.readableScopes(of: caller.principal.name)
        if let existing = try await store.usableBlobSize(body.digest, model: model, principal: caller.principal.name, readable: readable) {
            guard existing == body.size else {
                throw VesselError(.sizeMismatch, "blob \(body.digest) is stored with \(existing) bytes, not \(body.size)")
            }
            throw VesselError.alreadyExists("blob \(body.digest) is already stored; there is nothing to upload")
        }
        let plan = try ChunkPlan(size: body.size, preferred: preferredChunkSize)
        let (session, created) = try await store.startUploadSession(model: model, digest: body.digest, size: body.size, chunkSize: plan.chunkSize, principal: caller.principal.name, ttl: ttl)
        try await uploads.beginSession(session.id, plan: session.plan)
        return try JSONResponse.make(try await info(session), status: created ? .created : .ok)
    }

    private func putChunk(_ request: Request, context: AppContext, caller: Caller) async throws -> Response {
        let session = try await liveSession(context, caller)
        let text = try context.parameters.require("chunk")
        guard let index = Int(text) else { throw VesselError.invalidArgument("chunk index '\(text.prefix(20))' is not a number") }
        let expected = UInt64(try session.plan.range(of: index).count)
        if let length = request.headers[.contentLength], UInt64(length) != expected {
            throw VesselError(.sizeMismatch, "chunk \(index) must be \(expected) bytes, not \(length)")
        }
        let writer = try await uploads.makeChunkWriter(session.id, plan: session.plan, index: index)
        let created: Bool
        do {
            try await BlobController.stream(request.body, declared: expected, batching: !writer.takesPieces) { try await writer.write($0) }
            created = try await writer.commit()
        } catch {
            await writer.abort()
            throw error
        }
        return try JSONResponse.make(ChunkReceipt(index: index, size: expected, created: created), status: created ? .created : .ok)
    }

    /// Verifies the session's bytes (also when the blob is stored already: that is what proves
    /// possession) and records the blob with the caller's proof. `created` is false only when
    /// the caller could already use the blob, so the answer reveals nothing it may not read.
    private func complete(_ session: UploadSession, caller: Caller) async throws -> Response {
        let readable = try await store.readableScopes(of: caller.principal.name)
        let usable = try await store.usableBlobSize(session.digest, model: session.model, principal: caller.principal.name, readable: readable) != nil
        let completed: CompletedSession
        let naming = store as? any BlobNaming
        let sweepSeq = try await naming?.beginBlobUpload(session.digest)
        do {
            completed = try await uploads.complete(session.id, plan: session.plan, digest: session.digest)
        } catch let error as VesselError where error.code == .digestMismatch || error.code == .sizeMismatch {
            try await store.deleteUploadSession(id: session.id)
            throw error
        }
        let created = completed.created || !usable
        try await BlobController.record(store, naming, session.digest, size: session.size, proof: BlobProof(model: session.model, principal: caller.principal.name), sweepSeq: sweepSeq)
        await UploadPieces.record(store, session.digest, size: session.size, pieces: completed.pieceDigests)
        try await store.deleteUploadSession(id: session.id)
        metrics.sessionCompleted()
        return try JSONResponse.make(UploadedBlob(digest: session.digest, size: session.size, created: created), status: created ? .created : .ok)
    }

    /// The caller's live session named by the route.
    /// - Throws: `not_found` when absent, another principal's, another model's, or expired.
    private func liveSession(_ context: AppContext, _ caller: Caller) async throws -> UploadSession {
        let id = try context.parameters.require("upload")
        let model = try APIRoutes.model(from: context)
        guard let session = try await store.uploadSession(id: id), session.model == model, session.createdBy == caller.principal.name else {
            throw VesselError.notFound("upload \(id.prefix(100)) does not exist; start one with POST …/uploads")
        }
        guard session.expiresAt > clock() else {
            throw VesselError.notFound("upload \(id.prefix(100)) expired at \(Timestamp.rfc3339(micros: session.expiresAt)); start a new upload")
        }
        return session
    }

    private func info(_ session: UploadSession) async throws -> UploadSessionInfo {
        UploadSessionInfo(uploadId: session.id, digest: session.digest, size: session.size, chunkSize: session.chunkSize, chunks: session.plan.chunks,
                          received: try await uploads.storedChunks(session.id), expiresAt: Timestamp.rfc3339(micros: session.expiresAt))
    }
}
