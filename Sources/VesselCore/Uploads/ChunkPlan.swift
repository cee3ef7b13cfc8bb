/// How an upload session cuts a blob into chunks: the server picks the chunk size when the
/// session starts, so that one chunk can later be one S3 multipart part.
///
/// S3's limits: a part is 5 MiB to 5 GiB (the last may be smaller), at most 10,000 parts.
/// The rule: 64 MiB chunks (640 GB in 10,000 parts); a larger blob gets the smallest whole
/// number of MiB that fits it in 10,000 chunks; past 5 GiB × 10,000 a blob cannot be uploaded.
/// A server option may choose a smaller preferred size for tests (`--upload-chunk-size`).
public struct ChunkPlan: Sendable, Equatable {
    public static let mebibyte: UInt64 = 1 << 20
    public static let defaultChunkSize: UInt64 = 64 << 20
    public static let minimumPartSize: UInt64 = 5 << 20
    public static let maximumPartSize: UInt64 = 5 << 30
    public static let maximumParts: UInt64 = 10_000
    /// The smallest chunk size a server option may choose (tests only; below S3's part minimum).
    public static let smallestTestChunkSize: UInt64 = 64 << 10

    public let size: UInt64
    public let chunkSize: UInt64

    /// - Parameter preferred: the server's preferred chunk size (64 MiB unless configured).
    /// - Throws: `invalid_argument` when the blob is too large for 10,000 chunks of 5 GiB.
    public init(size: UInt64, preferred: UInt64 = ChunkPlan.defaultChunkSize) throws(VesselError) {
        let (limit, overflow) = Self.maximumPartSize.multipliedReportingOverflow(by: Self.maximumParts)
        guard overflow || size <= limit else {
            throw .invalidArgument("a blob of \(size) bytes is larger than an upload session allows (10,000 chunks of 5 GiB)")
        }
        let needed = size / Self.maximumParts + (size % Self.maximumParts == 0 ? 0 : 1)
        let rounded = (needed + Self.mebibyte - 1) / Self.mebibyte * Self.mebibyte
        self.size = size
        self.chunkSize = min(needed > preferred ? rounded : max(preferred, 1), Self.maximumPartSize)
    }

    public init(size: UInt64, chunkSize: UInt64) {
        self.size = size
        self.chunkSize = max(chunkSize, 1)
    }

    /// The number of chunks (0 for an empty blob).
    public var chunks: Int { Int(size / chunkSize + (size % chunkSize == 0 ? 0 : 1)) }

    /// The byte range of chunk `index`. - Throws: `invalid_argument` for an index out of range.
    public func range(of index: Int) throws(VesselError) -> Range<UInt64> {
        guard index >= 0, index < chunks else {
            throw .invalidArgument("chunk \(index) does not exist: this upload has chunks 0 to \(chunks - 1)")
        }
        let start = UInt64(index) * chunkSize
        return start..<min(start + chunkSize, size)
    }

    /// Parses a size such as `1MiB`, `64MiB`, `5GiB`, `512KiB` or plain bytes.
    public static func parseSize(_ text: String) throws(VesselError) -> UInt64 {
        let units: [(String, UInt64)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("B", 1), ("", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = UInt64(text.dropLast(suffix.count)) else { continue }
            let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
            guard !overflow else { break }
            return bytes
        }
        throw .invalidArgument("size '\(text.prefix(40))' must look like 1MiB, 64MiB, 5GiB or a number of bytes")
    }
}
