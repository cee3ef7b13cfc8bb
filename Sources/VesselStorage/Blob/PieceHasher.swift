import struct Crypto.SHA256
import NIOCore
import VesselCore

/// The SHA-256 of a blob and of each of its pieces (docs/peers.md), in one sequential pass
/// over the same buffers: every byte is read once and fed to both hashes while it is still in
/// the CPU's cache. Uploads keep the pieces with the blob (decision 0038); the registry's lazy
/// computation for blobs stored before hashes the pieces alone (`wholeDigest: false`).
public struct PieceHasher: Sendable {
    /// The size of every piece but the last; nil: the whole digest only (no pieces).
    public let pieceSize: Int64?
    private var whole: SHA256?
    private var piece = SHA256()
    private var filled: Int64 = 0
    private var done: [String] = []
    /// Bytes hashed so far.
    public private(set) var count: UInt64 = 0

    /// Both hashes are fed in strides of this many bytes, so the second reads from cache.
    static let stride = 256 << 10

    public init(pieceSize: Int64?, wholeDigest: Bool = true) {
        precondition(pieceSize.map { $0 > 0 } ?? true, "a piece size is positive")
        self.pieceSize = pieceSize
        self.whole = wholeDigest ? SHA256() : nil
    }

    public mutating func update(bufferPointer bytes: UnsafeRawBufferPointer) {
        count += UInt64(bytes.count)
        guard let pieceSize else {
            whole?.update(bufferPointer: bytes)
            return
        }
        var at = 0
        while at < bytes.count {
            let take = Int(min(Int64(min(bytes.count - at, Self.stride)), pieceSize - filled))
            let part = UnsafeRawBufferPointer(rebasing: bytes[at..<at + take])
            whole?.update(bufferPointer: part)
            piece.update(bufferPointer: part)
            at += take
            filled += Int64(take)
            if filled == pieceSize {
                done.append(Hex.encode(piece.finalize()))
                piece = SHA256()
                filled = 0
            }
        }
    }

    public mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { update(bufferPointer: $0) }
    }

    /// The hex SHA-256 of every piece so far, the last one (shorter) included; nil without a
    /// piece size. An empty blob has no pieces.
    public var pieces: [String]? {
        guard pieceSize != nil else { return nil }
        guard filled > 0 else { return done }
        return done + [Hex.encode(piece.finalize())]
    }

    /// The SHA-256 of everything hashed (nil when made with `wholeDigest: false`).
    public var digest: Digest? {
        whole.map { Digest(bytes: $0.finalize()) }
    }

    /// The hex piece digests of `chunks`, read once.
    public static func pieces<S: AsyncSequence>(of chunks: S, pieceSize: Int64) async throws -> [String] where S.Element == ByteBuffer {
        var hasher = PieceHasher(pieceSize: pieceSize, wholeDigest: false)
        for try await chunk in chunks { hasher.update(chunk) }
        return hasher.pieces ?? []
    }
}
