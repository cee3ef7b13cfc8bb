/// What a user names when they want a version: `owner/name` (latest ready version),
/// `owner/name@alias` or `owner/name:version`.
public struct Reference: Hashable, Sendable, CustomStringConvertible {
    public enum Selector: Hashable, Sendable {
        case latest
        case alias(AliasName)
        case version(Int)
    }

    public let model: ModelName
    public let selector: Selector

    public init(model: ModelName, selector: Selector) {
        self.model = model
        self.selector = selector
    }

    public init(_ text: String) throws(VesselError) {
        if let at = text.firstIndex(of: "@") {
            model = try ModelName(String(text[..<at]))
            selector = .alias(try AliasName(String(text[text.index(after: at)...])))
        } else if let colon = text.firstIndex(of: ":") {
            model = try ModelName(String(text[..<colon]))
            selector = .version(try Self.parseVersion(String(text[text.index(after: colon)...])))
        } else {
            model = try ModelName(text)
            selector = .latest
        }
    }

    /// A positive decimal integer without sign or leading zeros.
    public static func parseVersion(_ text: String) throws(VesselError) -> Int {
        guard let first = text.utf8.first, first != 0x30, text.utf8.count <= 18,
              text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(text), number > 0
        else { throw .invalidArgument("'\(text)' is not a version number: use a positive integer such as 3") }
        return number
    }

    public var description: String {
        switch selector {
        case .latest: return model.description
        case .alias(let alias): return "\(model)@\(alias)"
        case .version(let number): return "\(model):\(number)"
        }
    }
}
