/// The result of inspecting a safetensors file or a checkpoint folder, shaped for
/// `vessel inspect --json`:
///
///     {"valid": true, "files": [{"path", "tensors": [{"name","dtype","shape","bytes"}], "metadata"}],
///      "parameters", "tensor_count", "dtypes", "tensor_bytes", "shard_count", "metadata",
///      "shards": {"index", "consistent"} | null}
///     {"valid": false, "error": {"code", "message", "path"?}}
///
/// Paths are relative to the inspected path (a file's own name); never absolute.
public struct SafetensorsInspection: Sendable, Equatable, Encodable {
    public struct Tensor: Codable, Sendable, Equatable {
        public let name: String
        public let dtype: String
        public let shape: [UInt64]
        public let bytes: UInt64
    }

    public struct File: Codable, Sendable, Equatable {
        public let path: String
        public let tensors: [Tensor]
        public let metadata: [String: String]?

        enum CodingKeys: String, CodingKey { case path, tensors, metadata }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(tensors, forKey: .tensors)
            try container.encode(metadata, forKey: .metadata)  // null when absent
        }
    }

    /// The shard index found and checked, if any.
    public struct ShardIndexStatus: Codable, Sendable, Equatable {
        public let index: String
        public let consistent: Bool
    }

    /// The first rule that failed.
    public struct Failure: Error, Codable, Sendable, Equatable {
        public let code: String
        public let message: String
        /// The file it concerns, relative to the inspected path.
        public let path: String?

        public init(code: String, message: String, path: String?) {
            self.code = code
            self.message = message
            self.path = path
        }
    }

    public let files: [File]
    public let summary: SafetensorsSummary?
    public let shards: ShardIndexStatus?
    public let error: Failure?

    public var valid: Bool { error == nil }

    /// A valid report.
    public init(files: [File], summary: SafetensorsSummary, shards: ShardIndexStatus?) {
        self.files = files
        self.summary = summary
        self.shards = shards
        self.error = nil
    }

    /// An invalid report.
    public init(error: Failure) {
        self.files = []
        self.summary = nil
        self.shards = nil
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case valid, files, shards, error
        case parameters
        case tensorCount = "tensor_count"
        case dtypes
        case tensorBytes = "tensor_bytes"
        case shardCount = "shard_count"
        case metadata
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(valid, forKey: .valid)
        if let error {
            try container.encode(error, forKey: .error)
            return
        }
        try container.encode(files, forKey: .files)
        if let summary {
            try container.encode(summary.parameters, forKey: .parameters)
            try container.encode(summary.tensorCount, forKey: .tensorCount)
            try container.encode(summary.dtypes, forKey: .dtypes)
            try container.encode(summary.tensorBytes, forKey: .tensorBytes)
            try container.encode(summary.shardCount, forKey: .shardCount)
            try container.encode(summary.metadata, forKey: .metadata)
        }
        try container.encode(shards, forKey: .shards)
    }
}

extension SafetensorsInspection.Tensor {
    init(_ info: SafetensorsTensorInfo) {
        self.init(name: info.name, dtype: info.dtype.rawValue, shape: info.shape, bytes: info.byteCount)
    }
}
