import Foundation
import Testing
import VesselCore

/// `JSONValueEncoder` writes what `JSONEncoder` writes (the server's configuration, and the
/// CLI's pretty one), except that absent optionals are `null` instead of left out.
@Suite("JSON value encoder")
struct JSONValueEncoderTests {
    static func foundation<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.withoutEscapingSlashes, .sortedKeys, .prettyPrinted] : [.withoutEscapingSlashes, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func vessel<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        String(decoding: try JSONValueEncoder(prettyPrinted: pretty).encode(value), as: UTF8.self)
    }

    static func expectSame<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for pretty in [false, true] {
            #expect(try vessel(value, pretty: pretty) == foundation(value, pretty: pretty), sourceLocation: sourceLocation)
        }
    }

    struct Nested: Codable {
        var name: String
        var tags: [String]
        var counts: [String: Int]
        var matrix: [[Double]]
        var empty: [Int]
        var emptyObject: [String: String]
        var flags: [Bool]
        var maybe: [Int?]
        var small: Int8
        var big: UInt64
        var negative: Int64
        var float: Float
        var child: Child?
        var children: [Child]

        struct Child: Codable {
            var id: Int
            var note: String
        }

        enum CodingKeys: String, CodingKey {
            case name, tags, counts, matrix, empty, flags, maybe, small, big, negative, float, child, children
            case emptyObject = "empty_object"
        }
    }

    static let nested = Nested(
        name: "zoë/😀 \"quoted\" back\\slash", tags: ["b", "a", "/path/x", ""], counts: ["z": 1, "Z": 2, "a b": 3, "é": 4, "10": 5, "9": 6, "_": 7],
        matrix: [[1.0, 0.1, 1e-7], [1e15, 1e16, 1e22, 123456789012345678.0], [-0.0, Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude, 0.30000000000000004]],
        empty: [], emptyObject: [:], flags: [true, false], maybe: [1, nil, 3], small: -128, big: .max, negative: .min, float: 0.1,
        child: Nested.Child(id: 1, note: "line\nbreak\ttab"), children: [Nested.Child(id: 2, note: ""), Nested.Child(id: 3, note: "\u{2028}\u{2029}\u{FEFF}")])

    @Test func nestedValuesMatchJSONEncoder() throws {
        try Self.expectSame(Self.nested)
        try Self.expectSame([Self.nested, Self.nested])
    }

    /// Every ASCII character, DEL and a few beyond, in a value and in a key.
    @Test func stringsMatchJSONEncoder() throws {
        let ascii = (0..<0x80).map { String(UnicodeScalar(UInt8($0))) }.joined()
        let text = ascii + "\u{80}\u{9F}\u{A0}é😀\u{10FFFF}e\u{301}"
        try Self.expectSame(text)
        try Self.expectSame([text: text, "a": "b"])
        for scalar in 0..<0x20 {
            try Self.expectSame(String(UnicodeScalar(UInt8(scalar))))
        }
    }

    @Test(arguments: [0.0, 1.0, -1.0, 0.1, 0.5, 1e-7, 1e-5, 1e-4, 100.0, 12345.678, 1e15, 9007199254740993.0, 1e16, 1e21, 1e22, 1.5e300, 2.5e-300, 1.0 / 3.0, -0.0, Double.pi, Double.ulpOfOne, Double.leastNormalMagnitude, Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude])
    func doublesMatchJSONEncoder(_ value: Double) throws {
        try Self.expectSame(value)
        try Self.expectSame([value])
        try Self.expectSame(Float(value).isFinite ? Float(value) : 0)
    }

    @Test func randomDoublesMatchJSONEncoder() throws {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = []
        while values.count < 2000 {
            let value = Double(bitPattern: generator.next())
            if value.isFinite { values.append(value) }
        }
        values += (0..<2000).map { _ in Double(Int64.random(in: -1 << 60...1 << 60)) / pow(10, Double(Int.random(in: 0...30))) }
        #expect(try Self.vessel(values) == Self.foundation(values))
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteDoublesThrow(_ value: Double) {
        #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(value) }
        #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(["x": value]) }
        #expect(throws: EncodingError.self) { try JSONValueEncoder().encode([Float(value)]) }
    }

    @Test func foundationValuesMatchJSONEncoder() throws {
        try Self.expectSame(Data([0, 1, 2, 0xFF, 0xFE]))
        try Self.expectSame(["url": URL(string: "https://example.com/a/b?c=d")!])
        try Self.expectSame([Date(timeIntervalSince1970: 1_700_000_000.25)])
        try Self.expectSame([Decimal(string: "12.50")!, Decimal(7)])
        try Self.expectSame([1: "one", 10: "ten", 2: "two"])
        try Self.expectSame(true)
        try Self.expectSame(Int?.none)
    }

    /// Names and digests encode as their strings; API types without absent fields are unchanged.
    @Test func apiTypesMatchJSONEncoder() throws {
        let digest = Digest(bytes: Array("x".utf8))
        let model = try ModelName("acme/m")
        try Self.expectSame([model])
        try Self.expectSame(["alias": try AliasName("production")])
        try Self.expectSame(digest)
        let manifest = try Manifest(entries: [ManifestEntry(path: "b/model.safetensors", size: 10, digest: digest), ManifestEntry(path: "a.json", size: 1, digest: digest)])
        try Self.expectSame(manifest)
        let alias = AliasInfo(model: model, alias: "production", version: 3, digest: digest, updatedAt: "2024-01-01T00:00:00Z", updatedBy: "admin")
        try Self.expectSame(Page(items: [alias, alias], nextCursor: "abc"))
        try Self.expectSame(ModelInfo(model: model, description: "d", tags: ["t"], createdAt: "now", createdBy: "admin", latestVersion: 2, versions: 2, updatedAt: "later"))
        try Self.expectSame(ErrorBody(code: "missing_blobs", message: "m", details: ["a", "b"]))
    }

    struct Optionals: Codable {
        var string: String?
        var int: Int?
        var int64: Int64?
        var uint64: UInt64?
        var double: Double?
        var bool: Bool?
        var list: [String]?
        var model: ModelName?
        var present: String?
    }

    /// The reason for the encoder: synthesized `Encodable` leaves nil optionals out with
    /// `JSONEncoder`; here each is `null`.
    @Test func nilOptionalsAreNull() throws {
        let value = Optionals(present: "here")
        #expect(try Self.foundation(value) == #"{"present":"here"}"#)
        #expect(try Self.vessel(value) == #"{"bool":null,"double":null,"int":null,"int64":null,"list":null,"model":null,"present":"here","string":null,"uint64":null}"#)
        #expect(try Self.vessel([value.list]) == "[null]")
    }

    @Test func apiTypesWriteNull() throws {
        let body = try Self.vessel(ErrorBody(.notFound("no such model")))
        #expect(body == #"{"error":{"code":"not_found","details":null,"message":"no such model"}}"#)
        let page = try Self.vessel(Page<Int>(items: [], nextCursor: nil))
        #expect(page == #"{"items":[],"next_cursor":null}"#)
    }

    /// Pretty-printed as `JSONEncoder` does it, nulls included.
    @Test func prettyPrinted() throws {
        let text = try Self.vessel(Optionals(list: [], present: "x"), pretty: true)
        #expect(text.hasPrefix("{\n  \"bool\" : null,\n"))
        #expect(text.contains("  \"list\" : [\n\n  ],\n"))
        #expect(text.hasSuffix("  \"uint64\" : null\n}"))
    }

    struct Nothing: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    @Test func topLevelWithoutValueThrows() throws {
        #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(Nothing()) }
        try Self.expectSame(["a": Nothing()])
    }
}
