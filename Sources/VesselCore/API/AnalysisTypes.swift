/// What the commit-time validators learned about a version's files, stored with it.
public struct VersionAnalysis: Codable, Sendable, Equatable {
    /// Safetensors totals, when the version holds valid safetensors files.
    public var summary: ModelSummary?
    /// One scan report per file.
    public var scan: [FileScanReport]?

    public init(summary: ModelSummary? = nil, scan: [FileScanReport]? = nil) {
        self.summary = summary
        self.scan = scan
    }
}

/// Parameter and byte totals over a version's safetensors files (VesselFormats computes it
/// from headers: `ModelSummary(headers:)`, alias `SafetensorsSummary`).
///
/// Encoded with snake_case keys: `parameters`, `tensor_count`, `dtypes` (dtype name →
/// `{parameters, bytes}`), `tensor_bytes`, `shard_count`, `metadata`.
public struct ModelSummary: Codable, Sendable, Equatable {
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
        case parameters, dtypes, metadata
        case tensorCount = "tensor_count"
        case tensorBytes = "tensor_bytes"
        case shardCount = "shard_count"
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
}

/// The scanner's verdict on one file: `{"path","format","verdict","findings"}`.
public struct FileScanReport: Codable, Sendable, Equatable {
    public struct Finding: Codable, Sendable, Equatable {
        public var severity: String
        public var kind: String
        public var detail: String
        public var offset: UInt64?
        public var member: String?

        public init(severity: String, kind: String, detail: String, offset: UInt64?, member: String?) {
            self.severity = severity
            self.kind = kind
            self.detail = detail
            self.offset = offset
            self.member = member
        }
    }

    public var path: String
    public var format: String
    public var verdict: String
    public var findings: [Finding]

    public init(path: String, format: String, verdict: String, findings: [Finding]) {
        self.path = path
        self.format = format
        self.verdict = verdict
        self.findings = findings
    }
}
