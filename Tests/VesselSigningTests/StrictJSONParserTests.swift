import VesselCore
import Testing
@testable import VesselSigning

@Suite("Strict JSON parser")
struct StrictJSONParserTests {
    private func parse(_ text: String) throws -> JSONValue {
        try StrictJSONParser.parse(Array(text.utf8))
    }

    @Test("accepts well-formed JSON and keeps member order")
    func accepts() throws {
        let value = try parse(#" {"b": [1, -2.5e3, true, false, null], "a": "x\"\\\/\n\u00e9\ud83d\ude00"} "#)
        #expect(value.keys == ["b", "a"])
        #expect(value["a"] == .string("x\"\\/\né😀"))
        #expect(value["b"] == .array([.number(StrictJSONNumber("1")), .number(StrictJSONNumber("-2.5e3")), .bool(true), .bool(false), .null]))
        #expect(try parse("\"é\"") == .string("é"))
    }

    @Test("rejects", arguments: [
        #"{"a":1,"a":1}"#, #"{"a":1,}"#, "[1,]", "{} x", "", "\u{FEFF}{}", "NaN", "01", "1.", "-",
        "\"\u{01}\"", #""\ud800""#, #""\udc00""#, #""\x""#, #""\u12""#, "[", "{\"a\"}", "tru", "\"abc",
        String(repeating: "[", count: 40) + String(repeating: "]", count: 40),
    ])
    func rejects(text: String) {
        #expect(throws: StrictJSONParser.ParseError.self) { try parse(text) }
    }

    @Test("rejects invalid UTF-8 inside strings")
    func invalidUTF8() {
        #expect(throws: StrictJSONParser.ParseError.self) {
            try StrictJSONParser.parse([0x22, 0xC3, 0x28, 0x22])
        }
    }

    @Test("quoted output round-trips through the parser")
    func quoting() throws {
        let text = "a\"b\\c\n\u{01}\u{7F}é/"
        #expect(try parse(JSONText.quoted(text)) == .string(text))
    }
}
