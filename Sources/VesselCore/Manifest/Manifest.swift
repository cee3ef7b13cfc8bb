/// One file of a version.
public struct ManifestEntry: Hashable, Sendable, Codable {
    public var path: String
    public var size: UInt64
    public var digest: Digest
    public var mediaType: String

    public init(path: String, size: UInt64, digest: Digest, mediaType: String? = nil) {
        self.path = path
        self.size = size
        self.digest = digest
        self.mediaType = mediaType ?? MediaType.guess(path)
    }

    enum CodingKeys: String, CodingKey {
        case path, size, digest
        case mediaType = "media_type"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        size = try c.decode(UInt64.self, forKey: .size)
        digest = try c.decode(Digest.self, forKey: .digest)
        mediaType = try c.decodeIfPresent(String.self, forKey: .mediaType) ?? MediaType.guess(path)
    }
}

/// A version's content: every file's path, size, digest and media type, sorted by path bytes.
public struct Manifest: Hashable, Sendable, Codable {
    public private(set) var entries: [ManifestEntry]

    /// Validates every path, size and media type, refuses duplicates and a path that is also
    /// another's folder, and sorts by UTF-8 bytes.
    /// - Throws: `invalid_argument` for the first entry that breaks a rule.
    public init(entries: [ManifestEntry]) throws(VesselError) {
        guard entries.count <= Self.maxFiles else {
            throw .invalidArgument("a version holds at most \(Self.maxFiles) files; this one has \(entries.count)")
        }
        var total: UInt64 = 0
        for entry in entries {
            try ManifestPath.validate(entry.path)
            try Limits.checkSize(entry.size, field: "the size of '\(ManifestPath.printable(entry.path))'")
            try Limits.check(entry.mediaType, field: "the media_type of '\(ManifestPath.printable(entry.path))'", max: Limits.mediaType)
            total += entry.size  // cannot overflow: at most 100,000 sizes of at most 2^63 − 1 each
        }
        try Limits.checkSize(total, field: "the version's total size")
        let sorted = entries.sorted { ManifestPath.precedes($0.path, $1.path) }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            if a.path == b.path {
                throw .invalidArgument("file path '\(ManifestPath.printable(a.path))' appears more than once")
            }
            // In this order a path's folder contents come right after it, so checking
            // neighbours finds every file that is also a folder (`a` and `a/b`): such a
            // version could be committed but never pulled.
            if ManifestPath.isInside(b.path, folder: a.path) {
                throw .invalidArgument("'\(ManifestPath.printable(a.path))' is a file, so it cannot also be the folder holding '\(ManifestPath.printable(b.path))'")
            }
        }
        self.entries = sorted
    }

    public static let maxFiles = 100_000

    public var totalSize: UInt64 { entries.reduce(0) { $0 &+ $1.size } }

    /// The distinct blobs this manifest needs.
    public var blobs: [Digest: UInt64] {
        var out: [Digest: UInt64] = [:]
        for entry in entries { out[entry.digest] = entry.size }
        return out
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode([ManifestEntry].self)
        do { try self.init(entries: raw) } catch { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(entries)
    }
}

/// Media types guessed from file extensions; informational only.
public enum MediaType {
    public static func guess(_ path: String) -> String {
        let lower = path.lowercased()
        let table: [(String, String)] = [
            (".safetensors", "application/vnd.safetensors"),
            (".json", "application/json"),
            (".txt", "text/plain"),
            (".md", "text/markdown"),
            (".yaml", "application/yaml"), (".yml", "application/yaml"),
            (".pt", "application/vnd.pytorch"), (".pth", "application/vnd.pytorch"), (".bin", "application/octet-stream"),
            (".pkl", "application/vnd.python.pickle"), (".pickle", "application/vnd.python.pickle"),
            (".npy", "application/vnd.numpy"), (".npz", "application/vnd.numpy"),
            (".gguf", "application/vnd.gguf"), (".onnx", "application/vnd.onnx"),
        ]
        for (ext, type) in table where lower.hasSuffix(ext) { return type }
        return "application/octet-stream"
    }
}
