import NIOCore
import VesselCore

/// Hashes and counts bytes as they stream past, and judges them against what was promised.
/// The server also uses it alone to check a re-sent stored blob without writing it. With a
/// piece size it also hashes every piece on the way (`PieceHasher`, decision 0038).
public struct DigestingCounter: Sendable {
    private var hasher: PieceHasher
    private(set) var count: UInt64 = 0
    let expectedDigest: Digest
    let expectedSize: UInt64

    public init(expectedDigest: Digest, expectedSize: UInt64, pieceSize: Int64? = nil) {
        self.expectedDigest = expectedDigest
        self.expectedSize = expectedSize
        hasher = PieceHasher(pieceSize: pieceSize)
    }

    /// The hex SHA-256 of every piece of the bytes so far (nil without a piece size); right
    /// for the blob once `verify` passed.
    public var pieces: [String]? { hasher.pieces }

    /// - Throws: `size_mismatch` as soon as more bytes arrive than promised.
    public mutating func update(_ buffer: ByteBuffer) throws(VesselError) {
        let (total, overflow) = count.addingReportingOverflow(UInt64(buffer.readableBytes))
        guard !overflow, total <= expectedSize else {
            throw VesselError(.sizeMismatch, "received more than the declared \(expectedSize) bytes for \(expectedDigest)")
        }
        hasher.update(buffer)
        count = total
    }

    /// - Throws: `size_mismatch` or `digest_mismatch`.
    public func verify() throws(VesselError) {
        guard count == expectedSize else {
            throw VesselError(.sizeMismatch, "received \(count) bytes for \(expectedDigest), but \(expectedSize) were declared")
        }
        let actual = hasher.digest ?? expectedDigest
        guard actual == expectedDigest else {
            throw VesselError(.digestMismatch, "the uploaded bytes hash to \(actual), not the declared \(expectedDigest); nothing was stored")
        }
    }
}
