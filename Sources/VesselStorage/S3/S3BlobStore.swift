import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Blobs in an S3 bucket (docs/decisions/0006-s3-blobs.md).
///
///     <prefix>/blobs/sha256/<hex>   committed blobs, named by their full hex digest
///     <prefix>/uploads/<id>         upload session <id>: a multipart upload whose part n + 1 is
///                                   chunk n; after completion, the assembled object waiting to
///                                   be verified (then copied to blobs/ and deleted)
///
/// Nothing appears under `blobs/` before its SHA-256 and size were verified: a direct write
/// (`makeWriter`) hashes while it streams parts of a multipart upload and completes it only
/// after the digest matched (a blob of at most one part is `PUT` once verified, signed with
/// its digest so the server checks the bytes too); an upload session is completed into
/// `uploads/<id>`, re-read and hashed, and only then copied. No conditional request is
/// relied on: a blob already present is left alone, and writing identical bytes twice is
/// harmless.
public final class S3BlobStore: BlobStore {
    public let client: S3Client
    let threadPool: NIOThreadPool
    /// Verified local copies for `withLocalFile`.
    let cache: LocalBlobCache
    /// Local copies of the chunks this replica sent, for completing without a re-read.
    let spool: S3UploadSpool
    /// Completed sessions verified from the local spool, and by reading the object back.
    let completedLocally = Atomic<Int>(0)
    let completedByRereading = Atomic<Int>(0)
    let locks = UploadLocks()
    /// Multipart upload ids of sessions seen by this process (found again with
    /// `ListMultipartUploads` on any other replica).
    let uploadIDs = Mutex<[String: String]>([:])

    /// The part size of direct writes: the smallest at or above this that fits 10,000 parts.
    static let directPartSize: UInt64 = 8 << 20
    /// The piece size whose digests uploads compute on the way (nil: none; decision 0038).
    public let pieceSize: Int64?

    init(client: S3Client, threadPool: NIOThreadPool, cache: LocalBlobCache, pieceSize: Int64? = PeerProtocol.pieceSize) {
        self.client = client
        self.threadPool = threadPool
        self.cache = cache
        self.pieceSize = pieceSize
        self.spool = S3UploadSpool(dir: cache.dir, threadPool: threadPool, pieceSize: pieceSize)
    }

    /// What `open` found out about the bucket.
    public struct Status: Sendable {
        /// `Enabled`, `Suspended`, or nil when versioning was never turned on.
        public var versioning: String?
        public var created: Bool
    }

    /// Connects to the bucket and checks the credentials with one signed request.
    /// - Parameter createBucket: create the bucket when it does not exist.
    /// - Parameter cacheRoot: where this process keeps verified local copies and upload spools,
    ///   in a directory of its own (`<pid>-<random>`, removed at shutdown; those of processes
    ///   that no longer run are removed at open). At most `cacheLimit` bytes of copies.
    /// - Parameter policy: the deadline of each call and where its failures are reported.
    /// - Parameter pieceSize: uploads also hash every piece of this size (nil: they do not).
    /// - Throws: `not_found` (no such bucket and `createBucket` is false), `unavailable`
    ///   (credentials refused, endpoint unreachable) — each with a message saying what to fix.
    public static func open(_ location: S3Location, credentials: S3Credentials, createBucket: Bool = false,
                            threadPool: NIOThreadPool = .blobIO, cacheRoot: String? = nil, cacheLimit: UInt64 = 8 << 30,
                            policy: BackendPolicy = .unbounded, logger: Logger = Logger(label: "vessel.s3"),
                            pieceSize: Int64? = PeerProtocol.pieceSize) async throws -> (S3BlobStore, Status) {
        let client = S3Client(location: location, credentials: credentials, policy: policy, logger: logger)
        do {
            var created = false
            let versioning: String?
            do {
                versioning = try await client.bucketVersioning()
            } catch let error as VesselError where error.code == .notFound && createBucket {
                try await client.createBucket()
                created = true
                versioning = try await client.bucketVersioning()
            } catch let error as VesselError where error.code == .notFound {
                throw VesselError.notFound("bucket '\(location.bucket)' does not exist at \(location.endpoint); create it or pass --create-bucket")
            }
            let root = cacheRoot ?? "\(NSTemporaryDirectory())/vessel-s3-cache"
            LocalBlobCache.removeAbandoned(under: root)
            let dir = "\(root)/\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
            let cache = try LocalBlobCache(dir: dir, limit: cacheLimit, threadPool: threadPool)
            return (S3BlobStore(client: client, threadPool: threadPool, cache: cache, pieceSize: pieceSize), Status(versioning: versioning, created: created))
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// Whether the bucket answers within `timeout` (`/readyz`).
    public func probe(timeout: Duration) async -> Bool {
        await client.probe(timeout: timeout)
    }

    /// Aborts direct writes (multipart uploads under `blobs/`) that a crashed replica left, once
    /// they are older than `age` — younger ones may still be in flight on another replica.
    /// Returns how many were aborted. Run at start-up; failures are the caller's to log.
    @discardableResult
    public func sweepAbandonedWrites(olderThan age: TimeInterval = 24 * 3600, now: Date = Date()) async throws -> Int {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        var aborted = 0
        for upload in try await client.listMultipartUploads(prefix: client.location.key("blobs/")) {
            guard let started = formatter.date(from: upload.initiated) ?? plain.date(from: upload.initiated),
                  now.timeIntervalSince(started) > age else { continue }
            try await client.abortMultipartUpload(upload.key, uploadID: upload.uploadID)
            aborted += 1
        }
        return aborted
    }

    public func shutdown() async {
        await client.shutdown()
        cache.remove()
    }

    func blobKey(_ digest: Digest) -> String { client.location.key("blobs/sha256/\(digest.hex)") }

    /// A URL that lets anyone holding it `GET` the blob for `expires` seconds, without credentials.
    public func presignedURL(for digest: Digest, expires: Int = 900) -> String {
        client.presignedURL(.GET, key: blobKey(digest), expires: expires)
    }

    public func size(of digest: Digest) async throws -> UInt64? {
        try await client.headObject(blobKey(digest))?.size
    }

    public func makeWriter(expecting digest: Digest, size: UInt64) async throws -> any BlobWriter {
        let needed = (size + ChunkPlan.maximumParts - 1) / ChunkPlan.maximumParts
        let partSize = max(Self.directPartSize, (needed + ChunkPlan.mebibyte - 1) / ChunkPlan.mebibyte * ChunkPlan.mebibyte)
        return S3BlobWriter(store: self, key: blobKey(digest), counter: DigestingCounter(expectedDigest: digest, expectedSize: size, pieceSize: pieceSize), partSize: Int(partSize))
    }

    public func read(_ digest: Digest, range: Range<UInt64>?) async throws -> BlobChunks {
        let key = blobKey(digest)
        guard let info = try await client.headObject(key) else { throw VesselError.notFound("blob \(digest) does not exist") }
        let span = try Range.checked(range, size: info.size)
        if span.isEmpty { return BlobChunks(length: 0) { nil } }
        let response = try await client.getObject(key, range: span == 0..<info.size ? nil : span)
        let reader = S3BodyReader(response.body, expected: UInt64(span.count), endpoint: client.location.endpoint)
        return BlobChunks(length: UInt64(span.count)) { try await reader.next() }
    }

    public func delete(_ digest: Digest) async throws {
        try await client.deleteObject(blobKey(digest))
        unlink(cache.path(of: digest))
    }

    /// Runs `body` with a verified local copy: from the local cache when this replica has the
    /// blob there (it completed the upload, or a validator fetched it before), else downloaded,
    /// hashed and cached first.
    public func withLocalFile<T: Sendable>(_ digest: Digest, _ body: @escaping @Sendable (String) throws -> T) async throws -> T {
        if let result = try await cache.withCached(digest, body) { return result }
        let file = try cache.makeFile()
        do {
            for try await buffer in try await read(digest, range: nil) { try await file.write(buffer) }
            let actual = try await file.finish()
            guard actual == digest else {
                throw VesselError.internalError("object storage returned bytes for blob \(digest) that hash to \(actual)")
            }
            file.commit(as: digest)
        } catch {
            file.discard()
            throw error
        }
        guard let result = try await cache.withCached(digest, body) else {
            throw VesselError.internalError("the local copy of blob \(digest) disappeared")
        }
        return result
    }
}

/// The body of a GET, one buffer per `next()`, checked to end exactly at the expected length.
/// Used from one task at a time (the `BlobChunks` contract), hence the unchecked `Sendable`.
final class S3BodyReader: @unchecked Sendable {
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var received: UInt64 = 0
    private let expected: UInt64
    private let endpoint: String

    init(_ body: HTTPClientResponse.Body, expected: UInt64, endpoint: String) {
        self.iterator = body.makeAsyncIterator()
        self.expected = expected
        self.endpoint = endpoint
    }

    func next() async throws -> ByteBuffer? {
        let buffer: ByteBuffer?
        do { buffer = try await iterator.next() } catch {
            throw VesselError(.unavailable, "object storage at \(endpoint) broke off a download after \(received) of \(expected) bytes")
        }
        guard let buffer else {
            guard received == expected else {
                throw VesselError(.unavailable, "object storage at \(endpoint) ended a download after \(received) of \(expected) bytes")
            }
            return nil
        }
        received += UInt64(buffer.readableBytes)
        guard received <= expected else { throw VesselError.internalError("object storage sent more bytes than the blob holds") }
        return buffer
    }
}
