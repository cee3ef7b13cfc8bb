import NIOCore
import VesselCore

/// Content-addressed blob storage.
///
/// Contract: a blob becomes readable only through `BlobWriter.commit()`, after the bytes
/// written matched the expected SHA-256 and size; a failed or aborted write leaves nothing
/// behind. Blobs are immutable once committed. Every implementation passes
/// `BlobStoreConformance` (Tests/VesselStorageTests).
public protocol BlobStore: Sendable {
    /// The size of a committed blob, or nil when it is absent.
    func size(of digest: Digest) async throws -> UInt64?

    /// Starts writing a blob that must hash to `digest` and be `size` bytes long.
    func makeWriter(expecting digest: Digest, size: UInt64) async throws -> any BlobWriter

    /// The bytes of `range` (the whole blob when nil), streamed in chunks with back-pressure.
    /// - Throws: `not_found`, `range_not_satisfiable`.
    func read(_ digest: Digest, range: Range<UInt64>?) async throws -> BlobChunks

    /// Removes a blob; absent blobs are ignored.
    func delete(_ digest: Digest) async throws

    /// Runs `body` with a local file holding the blob (the stored file itself for the
    /// filesystem store; a temporary copy for remote stores, removed afterwards). Validators
    /// and scanners read headers and members through it without loading whole blobs.
    func withLocalFile<T: Sendable>(_ digest: Digest, _ body: @escaping @Sendable (String) throws -> T) async throws -> T
}

/// An in-progress blob write. Use from one task at a time.
public protocol BlobWriter: Sendable {
    /// Whether `write` takes a request body's pieces as they arrive (the writer gathers them
    /// itself, with no extra copy); false asks callers to gather about a MiB per call.
    var takesPieces: Bool { get }
    /// Appends bytes. - Throws: `size_mismatch` past the expected size, `insufficient_storage`.
    func write(_ buffer: ByteBuffer) async throws
    /// Verifies size and digest, then makes the blob visible atomically.
    /// - Throws: `size_mismatch`, `digest_mismatch` (nothing is stored).
    func commit() async throws
    /// Discards everything written. Safe to call after a failure or twice.
    func abort() async
    /// After a successful `commit`: the hex SHA-256 of every piece of the blob, computed in
    /// the pass that verified its digest (decision 0038); nil when not computed.
    var pieceDigests: [String]? { get }
}

extension BlobWriter {
    public var takesPieces: Bool { false }
    public var pieceDigests: [String]? { nil }
}

/// A blob's bytes as an async sequence of buffers; the producer reads ahead at most one chunk.
public struct BlobChunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public let length: UInt64
    let next: @Sendable () async throws -> ByteBuffer?

    public init(length: UInt64, next: @escaping @Sendable () async throws -> ByteBuffer?) {
        self.length = length
        self.next = next
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let next: @Sendable () async throws -> ByteBuffer?
        public mutating func next() async throws -> ByteBuffer? { try await next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(next: next) }
}

extension Range where Bound == UInt64 {
    /// Validates a requested range against a blob size.
    public static func checked(_ range: Range<UInt64>?, size: UInt64) throws(VesselError) -> Range<UInt64> {
        guard let range else { return 0..<size }
        guard range.upperBound <= size else {
            throw VesselError(.rangeNotSatisfiable, "the requested range \(range.lowerBound)-\(range.upperBound) is outside the blob's \(size) bytes")
        }
        return range
    }
}
