import Hummingbird
import NIOCore
import VesselCore
import VesselMetadata
import VesselStorage

/// Blob upload (streamed, verified, then recorded) and download (`HEAD`, `Range`, `ETag`).
struct BlobController {
    let store: any BlobIndex & BlobMembership & GrantStore
    let blobs: any BlobStore
    let metrics: ServerMetrics
    /// With `--storage-redirect`: a presigned object-storage URL for a blob. Downloads answer
    /// `307` to it; the client follows without its Vessel token and still hashes every byte.
    var redirect: (@Sendable (Digest) -> String)? = nil
    /// Uploads hash every piece of this size along (nil: `--piece-digests on-demand`).
    var pieceSize: Int64? = PeerProtocol.pieceSize
    /// Bytes gathered before each write to storage.
    static let writeChunk = 1 << 20

    /// Hands a request body to `write` in buffers of about `writeChunk` bytes (the network
    /// delivers far smaller pieces, and each write costs a hop to the I/O threads). One buffer
    /// is reused: once `write` returned and dropped it, the next batch fills the same memory,
    /// so a large upload allocates (and page-faults) one MiB instead of one per MiB.
    /// With `batching` false the pieces go to `write` as they arrive: for writers that gather
    /// them into their own buffer, where batching here would only add a copy of every byte.
    /// - Throws: `size_mismatch` when the body cannot be read to its end (the connection
    ///   closed before `declared` bytes arrived: Hummingbird reports a truncated body as an
    ///   error of the body stream); whatever `write` throws.
    static func stream(_ body: RequestBody, declared: UInt64, batching: Bool = true, to write: (ByteBuffer) async throws -> Void) async throws {
        var pieces = body.makeAsyncIterator()
        var received: UInt64 = 0
        var pending = ByteBufferAllocator().buffer(capacity: batching ? writeChunk + (64 << 10) : 0)
        while true {
            let next: ByteBuffer?
            do {
                next = try await pieces.next()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw VesselError(.sizeMismatch, "the request body ended after \(received) of the declared \(declared) bytes; nothing was stored, send it again")
            }
            guard var piece = next else { break }
            received += UInt64(piece.readableBytes)
            guard batching else {
                try await write(piece)
                continue
            }
            pending.writeBuffer(&piece)
            if pending.readableBytes >= writeChunk {
                try await write(pending)
                pending.clear()
            }
        }
        if pending.readableBytes > 0 { try await write(pending) }
    }

    func register(_ routes: APIRoutes) {
        routes.on(.put, "/api/v1/models/:owner/:name/blobs/:digest", .write) { request, context, caller in
            let digest = try Digest(try context.parameters.require("digest"))
            guard let model = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no model") }
            let proof = BlobProof(model: model, principal: caller.principal.name)
            return try await metrics.upload { try await upload(request, digest: digest, proof: proof) }
        }
        routes.on(.get, "/api/v1/models/:owner/:name/blobs/:digest", .read) { request, context, _ in
            try await download(request, context: context, headOnly: false)
        }
        routes.on(.head, "/api/v1/models/:owner/:name/blobs/:digest", .read) { request, context, _ in
            try await download(request, context: context, headOnly: true)
        }
    }

    /// Stores a blob and records the caller's proof of possession. A blob the caller may already
    /// use is answered from the index without reading the body. A blob that is stored but that
    /// the caller may not use yet is answered exactly as a new one, after its bytes were hashed
    /// and nothing written (issue 21, item 1): neither the answer nor the object store tells the
    /// caller it existed.
    private func upload(_ request: Request, digest: Digest, proof: BlobProof) async throws -> Response {
        guard let lengthText = request.headers[.contentLength], let size = UInt64(lengthText) else {
            throw VesselError.invalidArgument("a blob upload needs a Content-Length header")
        }
        try Limits.checkSize(size, field: "the Content-Length")
        let readable = try await store.readableScopes(of: proof.principal)
        if let existing = try await store.usableBlobSize(digest, model: proof.model, principal: proof.principal, readable: readable) {
            guard existing == size else {
                throw VesselError(.sizeMismatch, "blob \(digest) is stored with \(existing) bytes, not \(size)")
            }
            return try JSONResponse.make(BlobStatus(digest: digest, size: existing, created: false))
        }
        // Named before any byte is written; recorded only if no sweep of it began since
        // (docs/decisions/0022-garbage-collection.md).
        let naming = store as? any BlobNaming
        let sweepSeq = try await naming?.beginBlobUpload(digest)
        if let stored = try await store.blobSize(digest) {
            var counter = DigestingCounter(expectedDigest: digest, expectedSize: size, pieceSize: pieceSize)
            try await Self.stream(request.body, declared: size, batching: false) { try counter.update($0) }
            try counter.verify()
            try await Self.record(store, naming, digest, size: stored, proof: proof, sweepSeq: sweepSeq)
            await UploadPieces.record(store, digest, size: size, pieces: counter.pieces)
            return try JSONResponse.make(BlobStatus(digest: digest, size: size, created: true), status: .created)
        }
        let writer = try await blobs.makeWriter(expecting: digest, size: size)
        do {
            try await Self.stream(request.body, declared: size, batching: !writer.takesPieces) { try await writer.write($0) }
            try await writer.commit()
        } catch {
            await writer.abort()
            throw error
        }
        try await Self.record(store, naming, digest, size: size, proof: proof, sweepSeq: sweepSeq)
        await UploadPieces.record(store, digest, size: size, pieces: writer.pieceDigests)
        return try JSONResponse.make(BlobStatus(digest: digest, size: size, created: true), status: .created)
    }

    /// `recordBlob`, through the sweep handshake when the store keeps one.
    static func record(_ store: any BlobIndex, _ naming: (any BlobNaming)?, _ digest: Digest, size: UInt64, proof: BlobProof, sweepSeq: Int64?) async throws {
        if let naming, let sweepSeq {
            try await naming.recordUploadedBlob(digest, size: size, proof: proof, sweepSeq: sweepSeq)
        } else {
            try await store.recordBlob(digest, size: size, proof: proof)
        }
    }

    private func download(_ request: Request, context: AppContext, headOnly: Bool) async throws -> Response {
        let digest = try Digest(try context.parameters.require("digest"))
        guard let model = try APIRoutes.model(from: context), try await store.modelContainsBlob(model: model, digest: digest),
              let size = try await store.blobSize(digest)
        else {
            throw VesselError.notFound("model holds no blob \(digest)")
        }
        let etag = "\"\(digest)\""
        var headers: HTTPFields = [.eTag: etag, .acceptRanges: "bytes", .contentType: "application/octet-stream", .cacheControl: "private, max-age=31536000, immutable"]
        if let match = request.headers[.ifNoneMatch], match == etag || match == "*" {
            return Response(status: .notModified, headers: headers)
        }
        if let redirect, !headOnly {
            headers[.location] = redirect(digest)
            headers[.cacheControl] = "no-store"
            metrics.blobRedirected(model: "\(model)")
            return Response(status: .temporaryRedirect, headers: headers, body: ResponseBody())
        }
        var range: Range<UInt64>? = nil
        var status = HTTPResponse.Status.ok
        if let header = request.headers[.range] {
            range = try ByteRange.parse(header, size: size)
            status = .partialContent
            if let range { headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(size)" }
        }
        let length = range.map { UInt64($0.count) } ?? size
        headers[.contentLength] = String(length)
        if headOnly { return Response(status: status, headers: headers, body: ResponseBody()) }
        let chunks = try await blobs.read(digest, range: range)
        // Counted as written to the client (docs/metrics.md: origin egress).
        return Response(status: status, headers: headers, body: metrics.countingBody(chunks, model: "\(model)"))
    }
}

struct BlobStatus: Codable, Sendable {
    var digest: Digest
    var size: UInt64
    var created: Bool
}

/// Parses a single `Range: bytes=…` header.
enum ByteRange {
    static func parse(_ header: String, size: UInt64) throws(VesselError) -> Range<UInt64> {
        let unsatisfiable = VesselError(.rangeNotSatisfiable, "range '\(header.prefix(100))' cannot be served from a blob of \(size) bytes")
        guard header.hasPrefix("bytes="), !header.contains(",") else { throw unsatisfiable }
        let spec = header.dropFirst(6)
        guard let dash = spec.firstIndex(of: "-") else { throw unsatisfiable }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let suffix = UInt64(last), suffix > 0 else { throw unsatisfiable }
            return (size - min(suffix, size))..<size
        }
        guard let start = UInt64(first), start < size else { throw unsatisfiable }
        if last.isEmpty { return start..<size }
        guard let end = UInt64(last), end >= start else { throw unsatisfiable }
        return start..<(min(end, size - 1) + 1)
    }
}
