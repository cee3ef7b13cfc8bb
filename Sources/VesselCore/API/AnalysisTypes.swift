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

/// Parameter and byte totals over a version's safetensors files.
public struct ModelSummary: Codable, Sendable, Equatable {
    public struct DTypeTotals: Codable, Sendable, Equatable {
        public var parameters: UInt64
        public var bytes: UInt64
    }

    public var parameters: UInt64
    public var tensorCount: Int
    public var dtypes: [String: DTypeTotals]
    public var tensorBytes: UInt64
    public var shardCount: Int
    public var metadata: [String: String]?

    enum CodingKeys: String, CodingKey {
        case parameters, dtypes, metadata
        case tensorCount = "tensor_count"
        case tensorBytes = "tensor_bytes"
        case shardCount = "shard_count"
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
    }

    public var path: String
    public var format: String
    public var verdict: String
    public var findings: [Finding]
}
