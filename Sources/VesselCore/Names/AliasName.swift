/// A movable pointer's name: `[a-z][a-z0-9._-]{0,63}` (`production`, `staging`, …).
public struct AliasName: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let value: String

    public init(_ text: String) throws(VesselError) {
        guard NameRules.isValidAlias(text) else {
            throw .invalidArgument(
                "'\(text)' is not a valid alias: use 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter"
            )
        }
        value = text
    }

    public var description: String { value }

    public static func < (lhs: AliasName, rhs: AliasName) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(text) } catch { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
