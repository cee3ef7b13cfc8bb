/// One import a pickle performs when loaded (`GLOBAL`, `STACK_GLOBAL` or `INST`).
///
/// JSON: `{"module", "name", "opcode", "offset", "member", "allowed"}`.
public struct ScanImport: Codable, Sendable, Hashable {
    public var module: String
    public var name: String
    /// The pickletools opcode name: `GLOBAL`, `STACK_GLOBAL` or `INST`.
    public var opcode: String
    /// Byte offset of the opcode inside the file or member.
    public var offset: Int
    /// The zip member, or `nil` for the file itself.
    public var member: String?
    /// Whether the allowlist accepts this import.
    public var allowed: Bool

    public init(module: String, name: String, opcode: String, offset: Int, member: String?, allowed: Bool) {
        self.module = module
        self.name = name
        self.opcode = opcode
        self.offset = offset
        self.member = member
        self.allowed = allowed
    }

    private enum CodingKeys: String, CodingKey {
        case module, name, opcode, offset, member, allowed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(module, forKey: .module)
        try container.encode(name, forKey: .name)
        try container.encode(opcode, forKey: .opcode)
        try container.encode(offset, forKey: .offset)
        try container.encode(member, forKey: .member)
        try container.encode(allowed, forKey: .allowed)
    }
}
