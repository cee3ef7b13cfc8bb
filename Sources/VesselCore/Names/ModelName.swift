/// A model's identity: `owner/name`, each part `[a-z0-9][a-z0-9._-]{0,63}`.
///
/// The owner part is the unit permissions are granted on.
public struct ModelName: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let owner: String
    public let name: String

    /// Parses `owner/name`; throws `VesselError.invalidArgument` naming the rule it broke.
    public init(_ text: String) throws(VesselError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw .invalidArgument("model name '\(text)' must look like owner/name")
        }
        try self.init(owner: String(parts[0]), name: String(parts[1]))
    }

    public init(owner: String, name: String) throws(VesselError) {
        for part in [owner, name] where !NameRules.isValidModelPart(part) {
            throw .invalidArgument(
                "'\(part)' is not a valid model name part: use 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
            )
        }
        self.owner = owner
        self.name = name
    }

    public var description: String { "\(owner)/\(name)" }

    public static func < (lhs: ModelName, rhs: ModelName) -> Bool {
        (lhs.owner, lhs.name) < (rhs.owner, rhs.name)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(text) } catch { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Character rules shared by model and alias names.
public enum NameRules {
    static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        isLowerAlnum(byte) || byte == 0x2E || byte == 0x5F || byte == 0x2D
    }

    /// `[a-z0-9][a-z0-9._-]{0,63}`
    public static func isValidModelPart(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 64, isLowerAlnum(first) else { return false }
        return bytes.allSatisfy(isNameByte)
    }

    /// `[a-z][a-z0-9._-]{0,63}`
    public static func isValidAlias(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 64, first >= 0x61, first <= 0x7A else { return false }
        return bytes.allSatisfy(isNameByte)
    }
}
