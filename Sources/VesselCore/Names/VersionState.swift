/// A version's lifecycle state.
public enum VersionState: String, Sendable, Codable, CaseIterable {
    /// Upload not committed: invisible to readers.
    case pending
    case ready
    /// Failed validation or scanning: cannot be promoted or pulled without an override.
    case quarantined
    case archived
    /// A tombstone; its blobs become garbage.
    case deleted
}

/// A validator's verdict about one aspect of a version.
public struct Finding: Hashable, Sendable, Codable {
    /// Which validator produced it (`manifest`, `safetensors`, `scan`, …).
    public var validator: String
    /// A stable snake_case code.
    public var code: String
    public var message: String
    /// The file it concerns, if any.
    public var path: String?

    public init(validator: String, code: String, message: String, path: String? = nil) {
        self.validator = validator
        self.code = code
        self.message = message
        self.path = path
    }
}
