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
    let tempDirectory: String
    let locks = UploadLocks()
    /// Multipart upload ids of sessions seen by this process (found again with
    /// `ListMultipartUploads` on any other replica).
    let uploadIDs = Mutex<[String: String]>([:])

    /// The part size of direct writes: the smallest at or above this that fits 10,000 parts.
    static let directPartSize: UInt64 = 8 << 20

    init(client: S3Client, threadPool: NIOThreadPool, tempDirectory: String) {
        self.client = client
        self.threadPool = threadPool
        self.tempDirectory = tempDirectory
    }

    /// What `open` found out about the bucket.
    public struct Status: Sendable {
        /// `Enabled`, `Suspended`, or nil when versioning was never turned on.
        public var versioning: String?
        public var created: Bool
    }

    /// Connects to the bucket and checks the credentials with one signed request.
    /// - Parameter createBucket: create the bucket when it does not exist.
    /// - Throws: `not_found` (no such bucket and `createBucket` is false), `unavailable`
    ///   (credentials refused, endpoint unreachable) — each with a message saying what to fix.
    public static func open(_ location: S3Location, credentials: S3Credentials, createBucket: Bool = false,
                            threadPool: NIOThreadPool = .singleton, tempDirectory: String = NSTemporaryDirectory(),
                            logger: Logger = Logger(label: "vessel.s3")) async throws -> (S3BlobStore, Status) {
        let client = S3Client(location: location, credentials: credentials, logger: logger)
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
            return (S3BlobStore(client: client, threadPool: threadPool, tempDirectory: tempDirectory), Status(versioning: versioning, created: created))
        } catch {
            await client.shutdown()
            throw error
        }
    }

    public func shutdown() async { await client.shutdown() }

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
        return S3BlobWriter(store: self, key: blobKey(digest), counter: DigestingCounter(expectedDigest: digest, expectedSize: size), partSize: Int(partSize))
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
    }

    public func withLocalFile<T: Sendable>(_ digest: Digest, _ body: @escaping @Sendable (String) throws -> T) async throws -> T {
        let path = "\(tempDirectory)/vessel-blob-\(UUID().uuidString)"
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileIOError.map(errno, doing: "download a blob for checking") }
        defer { unlink(path) }
        do {
            var offset: UInt64 = 0
            for try await buffer in try await read(digest, range: nil) {
                let at = offset
                try await threadPool.runIfActive {
                    try buffer.withUnsafeReadableBytes { bytes in
                        var done = 0
                        while done < bytes.count {
                            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(at) + off_t(done))
                            if n < 0 {
                                if errno == EINTR { continue }
                                throw FileIOError.map(errno, doing: "download a blob for checking")
                            }
                            done += n
                        }
                    }
                }
                offset += UInt64(buffer.readableBytes)
            }
            close(fd)
        } catch {
            close(fd)
            throw error
        }
        return try await threadPool.runIfActive { try body(path) }
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
