/// A SHA-256 content digest, written `sha256:<64 lowercase hex>` everywhere outside
/// model-signing bundles.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// 64 lowercase hex characters.
    public let hex: String

    /// Accepts `sha256:<hex>` only.
    public init(_ text: String) throws(VesselError) {
        guard text.hasPrefix("sha256:") else {
            throw .invalidArgument("digest '\(text.prefix(80))' must look like sha256:<64 lowercase hex digits>")
        }
        try self.init(hex: String(text.dropFirst(7)))
    }

    public init(hex: String) throws(VesselError) {
        let valid = hex.utf8.count == 64
            && hex.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        guard valid else {
            throw .invalidArgument("digest 'sha256:\(hex.prefix(80))' must have 64 lowercase hex digits")
        }
        self.hex = hex
    }

    /// From 32 raw bytes.
    public init(bytes: some Sequence<UInt8>) {
        hex = Hex.encode(bytes)
    }

    /// The 32 raw bytes.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            out.append(Self.nibble(high) << 4 | Self.nibble(low))
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : c - 0x61 + 10 }

    public var description: String { "sha256:\(hex)" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(text) } catch { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
