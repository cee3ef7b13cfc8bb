import Foundation

/// Encodes API values as JSON, writing `null` for every absent optional: the API rule "a
/// field without a value is `null`, never left out" (docs/api.md, Conventions), kept in one
/// place instead of a hand-written `encode(to:)` per type.
///
/// Synthesized `Encodable` calls `encodeIfPresent` for optional properties, and Foundation's
/// `JSONEncoder` skips the key when the value is `nil`. This encoder's keyed containers
/// implement every `encodeIfPresent` overload as "encode the value, or `encodeNil`". Apart
/// from that its output is byte for byte what `JSONEncoder` writes with
/// `[.withoutEscapingSlashes, .sortedKeys]` (and `.prettyPrinted` when `prettyPrinted` is
/// set): keys sorted by `String` order, integers in decimal, a `Double` or `Float` as its
/// `description` without a trailing `.0`, strings with quotes, backslashes and control
/// characters escaped (`JSONText`), `Data` as base64, `URL` as its absolute string, `Decimal`
/// as a number. `JSONValueEncoderTests` compares the two.
///
/// Throws `EncodingError.invalidValue` for a non-finite `Double` or `Float` (as `JSONEncoder`
/// does) and when the top-level value encodes nothing; any error the value's own
/// `encode(to:)` throws passes through.
public struct JSONValueEncoder: Sendable {
    /// Newlines and two-space indents, `"key" : value`, as `JSONEncoder`'s `.prettyPrinted`.
    public var prettyPrinted: Bool

    public init(prettyPrinted: Bool = false) {
        self.prettyPrinted = prettyPrinted
    }

    /// `value` as UTF-8 JSON text, without a trailing newline.
    public func encode<T: Encodable>(_ value: T) throws -> Data {
        Data(try encodeBytes(value))
    }

    /// `value` as UTF-8 JSON text, without a trailing newline.
    public func encodeBytes<T: Encodable>(_ value: T) throws -> [UInt8] {
        let root = JSONNode()
        try JSONNodeEncoder.encode(value, into: root, codingPath: [])
        guard root.kind != .empty else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        var writer = JSONNodeWriter(prettyPrinted: prettyPrinted)
        writer.write(root)
        return writer.out
    }
}

/// A JSON value under construction. A nested container fills its node after the node has
/// been placed in its parent, so nodes are references.
final class JSONNode {
    enum Kind { case empty, scalar, array, object }

    private(set) var kind = Kind.empty
    /// The JSON text of a scalar (`null`, `true`, `1.5`, `"text"`).
    private(set) var text: [UInt8] = []
    private(set) var items: [JSONNode] = []
    private(set) var members: [String: JSONNode] = [:]

    func setScalar(_ text: [UInt8]) {
        kind = .scalar
        self.text = text
        items = []
        members = [:]
    }

    /// Makes this node an object, keeping its members if it is one already (a value may ask
    /// for its keyed container more than once).
    func makeObject() {
        guard kind != .object else { return }
        kind = .object
        text = []
        items = []
    }

    /// Makes this node an array, keeping its items if it is one already.
    func makeArray() {
        guard kind != .array else { return }
        kind = .array
        text = []
        members = [:]
    }

    /// A new empty node stored under `key`, replacing any value there.
    func member(_ key: String) -> JSONNode {
        let node = JSONNode()
        members[key] = node
        return node
    }

    /// A new empty node appended to the array.
    func appendItem() -> JSONNode {
        let node = JSONNode()
        items.append(node)
        return node
    }
}

/// Writes a node tree as `JSONEncoder` would.
struct JSONNodeWriter {
    let prettyPrinted: Bool
    var out: [UInt8] = []
    private var depth = 0

    init(prettyPrinted: Bool) {
        self.prettyPrinted = prettyPrinted
        out.reserveCapacity(256)
    }

    mutating func write(_ node: JSONNode) {
        switch node.kind {
        case .scalar:
            out += node.text
        case .array:
            open(UInt8(ascii: "["), empty: node.items.isEmpty)
            for (index, item) in node.items.enumerated() {
                separate(first: index == 0)
                write(item)
            }
            close(UInt8(ascii: "]"))
        case .object, .empty:
            // A nested value that encoded nothing is `{}`, as with `JSONEncoder`.
            let members = node.members.sorted { $0.key < $1.key }
            open(UInt8(ascii: "{"), empty: members.isEmpty)
            for (index, member) in members.enumerated() {
                separate(first: index == 0)
                JSONText.appendQuoted(member.key, to: &out, escapingDEL: false)
                out += prettyPrinted ? Array(" : ".utf8) : [UInt8(ascii: ":")]
                write(member.value)
            }
            close(UInt8(ascii: "}"))
        }
    }

    /// `[` or `{`; pretty-printed, an empty container is the bracket, a blank line, and the
    /// closing bracket at the parent's indent.
    private mutating func open(_ bracket: UInt8, empty: Bool) {
        out.append(bracket)
        depth += 1
        if prettyPrinted && empty { out.append(UInt8(ascii: "\n")) }
    }

    private mutating func separate(first: Bool) {
        if !first { out.append(UInt8(ascii: ",")) }
        newline()
    }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        newline()
        out.append(bracket)
    }

    private mutating func newline() {
        guard prettyPrinted else { return }
        out.append(UInt8(ascii: "\n"))
        out += repeatElement(UInt8(ascii: " "), count: 2 * depth)
    }
}
