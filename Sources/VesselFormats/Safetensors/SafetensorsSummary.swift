/// Totals over one file or a sharded checkpoint, for version summaries.
///
/// Encoded with snake_case keys: `parameters`, `tensor_count`, `dtypes` (dtype name →
/// `{parameters, bytes}`), `tensor_bytes`, `shard_count`, `metadata`.
public struct SafetensorsSummary: Codable, Sendable, Equatable {
    /// Parameters and bytes of the tensors of one dtype.
    public struct DTypeTotals: Codable, Sendable, Equatable {
        public var parameters: UInt64
        public var bytes: UInt64

        public init(parameters: UInt64, bytes: UInt64) {
            self.parameters = parameters
            self.bytes = bytes
        }
    }

    /// Sum of element counts (a rank-0 tensor counts 1; sub-byte elements count 1 each).
    public var parameters: UInt64
    public var tensorCount: Int
    /// Keyed by the dtype's header name (`"BF16"`).
    public var dtypes: [String: DTypeTotals]
    /// Sum of tensor byte sizes (headers excluded), what `total_size` of an index declares.
    public var tensorBytes: UInt64
    /// Number of files summarized.
    public var shardCount: Int
    /// The files' `__metadata__`, merged in the order given (the first file wins on a
    /// conflicting key); nil when no file has metadata.
    public var metadata: [String: String]?

    enum CodingKeys: String, CodingKey {
        case parameters
        case tensorCount = "tensor_count"
        case dtypes
        case tensorBytes = "tensor_bytes"
        case shardCount = "shard_count"
        case metadata
    }

    public init(
        parameters: UInt64, tensorCount: Int, dtypes: [String: DTypeTotals],
        tensorBytes: UInt64, shardCount: Int, metadata: [String: String]?
    ) {
        self.parameters = parameters
        self.tensorCount = tensorCount
        self.dtypes = dtypes
        self.tensorBytes = tensorBytes
        self.shardCount = shardCount
        self.metadata = metadata
    }

    /// Summarizes the headers of one file or of all shards of a checkpoint. Sums saturate
    /// at `UInt64.max` instead of overflowing.
    public init(headers: [SafetensorsHeader]) {
        var parameters: UInt64 = 0
        var tensorBytes: UInt64 = 0
        var tensorCount = 0
        var dtypes: [String: DTypeTotals] = [:]
        var metadata: [String: String]? = nil
        for header in headers {
            for tensor in header.tensors {
                parameters = Self.add(parameters, tensor.elementCount)
                tensorBytes = Self.add(tensorBytes, tensor.byteCount)
                tensorCount += 1
                var totals = dtypes[tensor.dtype.rawValue] ?? DTypeTotals(parameters: 0, bytes: 0)
                totals.parameters = Self.add(totals.parameters, tensor.elementCount)
                totals.bytes = Self.add(totals.bytes, tensor.byteCount)
                dtypes[tensor.dtype.rawValue] = totals
            }
            if let fileMetadata = header.metadata {
                var merged = metadata ?? [:]
                for (key, value) in fileMetadata where merged[key] == nil { merged[key] = value }
                metadata = merged
            }
        }
        self.init(
            parameters: parameters, tensorCount: tensorCount, dtypes: dtypes,
            tensorBytes: tensorBytes, shardCount: headers.count, metadata: metadata
        )
    }

    private static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? UInt64.max : sum
    }
}
