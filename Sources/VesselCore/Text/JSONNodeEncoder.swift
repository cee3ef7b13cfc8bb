import Foundation

/// The `Encoder` behind ``JSONValueEncoder``: fills one ``JSONNode``. It is also the node's
/// single-value container, where every scalar ends up.
struct JSONNodeEncoder: Encoder, SingleValueEncodingContainer {
    let node: JSONNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Encodes `value` into `node`, with `JSONEncoder`'s own forms for `Data` (base64), `URL`
    /// (its absolute string) and `Decimal` (a number).
    static func encode<T: Encodable>(_ value: T, into node: JSONNode, codingPath: [any CodingKey]) throws {
        if let data = value as? Data {
            node.setScalar(JSONScalar.string(data.base64EncodedString()))
        } else if let url = value as? URL {
            node.setScalar(JSONScalar.string(url.absoluteString))
        } else if let decimal = value as? Decimal {
            node.setScalar(Array(decimal.description.utf8))
        } else {
            try value.encode(to: JSONNodeEncoder(node: node, codingPath: codingPath))
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(JSONKeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeArray()
        return JSONUnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func encodeNil() throws { node.setScalar(JSONScalar.null) }
    func encode(_ value: Bool) throws { node.setScalar(value ? Array("true".utf8) : Array("false".utf8)) }
    func encode(_ value: String) throws { node.setScalar(JSONScalar.string(value)) }
    func encode(_ value: Double) throws { node.setScalar(try JSONScalar.floatingPoint(value, codingPath: codingPath)) }
    func encode(_ value: Float) throws { node.setScalar(try JSONScalar.floatingPoint(value, codingPath: codingPath)) }
    func encode(_ value: Int) throws { node.setScalar(JSONScalar.integer(value)) }
    func encode(_ value: Int8) throws { node.setScalar(JSONScalar.integer(value)) }
    func encode(_ value: Int16) throws { node.setScalar(JSONScalar.integer(value)) }
    func encode(_ value: Int32) throws { node.setScalar(JSONScalar.integer(value)) }
    func encode(_ value: Int64) throws { node.setScalar(JSONScalar.integer(value)) }
    func encode(_ value: UInt) throws { node.setScalar(JSONScalar.integer(value)) }
    func encode(_ value: UInt8) throws { node.setScalar(JSONScalar.integer(value)) }
    func encode(_ value: UInt16) throws { node.setScalar(JSONScalar.integer(value)) }
    func encode(_ value: UInt32) throws { node.setScalar(JSONScalar.integer(value)) }
    func encode(_ value: UInt64) throws { node.setScalar(JSONScalar.integer(value)) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func encode(_ value: Int128) throws { node.setScalar(JSONScalar.integer(value)) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func encode(_ value: UInt128) throws { node.setScalar(JSONScalar.integer(value)) }
    func encode<T: Encodable>(_ value: T) throws { try Self.encode(value, into: node, codingPath: codingPath) }
}

/// Scalars as JSON text, as `JSONEncoder` writes them.
enum JSONScalar {
    static let null = Array("null".utf8)

    static func string(_ value: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 2)
        JSONText.appendQuoted(value, to: &out, escapingDEL: false)
        return out
    }

    static func integer(_ value: some BinaryInteger) -> [UInt8] {
        Array(String(value).utf8)
    }

    /// The shortest text that reads back as `value` (its `description`), without the `.0` of
    /// whole numbers: `1`, `0.1`, `1e-07`, `1e+16`. NaN and infinities are not JSON.
    static func floatingPoint<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F, codingPath: [any CodingKey]) throws -> [UInt8] {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "Unable to encode \(F.self).\(value) directly in JSON."))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return Array(text.utf8)
    }
}
