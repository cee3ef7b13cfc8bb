import struct Crypto.SHA256
import NIOCore
import VesselCore

/// Hashes and counts bytes as they stream past, and judges them against what was promised.
/// The server also uses it alone to check a re-sent stored blob without writing it.
public struct DigestingCounter: Sendable {
    private var hasher = SHA256()
    private(set) var count: UInt64 = 0
    let expectedDigest: Digest
    let expectedSize: UInt64

    public init(expectedDigest: Digest, expectedSize: UInt64) {
        self.expectedDigest = expectedDigest
        self.expectedSize = expectedSize
    }

    /// - Throws: `size_mismatch` as soon as more bytes arrive than promised.
    public mutating func update(_ buffer: ByteBuffer) throws(VesselError) {
        let (total, overflow) = count.addingReportingOverflow(UInt64(buffer.readableBytes))
        guard !overflow, total <= expectedSize else {
            throw VesselError(.sizeMismatch, "received more than the declared \(expectedSize) bytes for \(expectedDigest)")
        }
        buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        count = total
    }

    /// - Throws: `size_mismatch` or `digest_mismatch`.
    public func verify() throws(VesselError) {
        guard count == expectedSize else {
            throw VesselError(.sizeMismatch, "received \(count) bytes for \(expectedDigest), but \(expectedSize) were declared")
        }
        let actual = Digest(bytes: hasher.finalize())
        guard actual == expectedDigest else {
            throw VesselError(.digestMismatch, "the uploaded bytes hash to \(actual), not the declared \(expectedDigest); nothing was stored")
        }
    }
}
