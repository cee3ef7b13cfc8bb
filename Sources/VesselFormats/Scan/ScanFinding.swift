/// One problem found in a file.
///
/// JSON: `{"severity", "kind", "detail", "offset", "member"}`; `offset` is the byte offset inside
/// the file, or inside `member` when the finding is in a zip member (after inflating); both are
/// `null` when not applicable.
public struct ScanFinding: Codable, Sendable, Hashable {
    public var severity: ScanSeverity
    public var kind: ScanFindingKind
    /// A human-readable explanation, e.g. `GLOBAL os.system`.
    public var detail: String
    /// Byte offset of the opcode or structure the finding is about.
    public var offset: Int?
    /// The zip member the finding is in, or `nil` for the file itself.
    public var member: String?

    public init(
        severity: ScanSeverity, kind: ScanFindingKind, detail: String, offset: Int? = nil,
        member: String? = nil
    ) {
        self.severity = severity
        self.kind = kind
        self.detail = detail
        self.offset = offset
        self.member = member
    }

    private enum CodingKeys: String, CodingKey {
        case severity, kind, detail, offset, member
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(severity, forKey: .severity)
        try container.encode(kind, forKey: .kind)
        try container.encode(detail, forKey: .detail)
        try container.encode(offset, forKey: .offset)
        try container.encode(member, forKey: .member)
    }
}
