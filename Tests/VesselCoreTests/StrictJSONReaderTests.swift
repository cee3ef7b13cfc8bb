import Testing
import VesselCore

@Suite("Strict JSON reader")
struct StrictJSONReaderTests {
    private static let strict = StrictJSONReader.Options(depthLimit: .openContainers(8))

    private func parse(_ text: String, _ options: StrictJSONReader.Options = strict) throws(StrictJSONError) -> StrictJSONValue {
        let bytes = Array(text.utf8)
        return try parse(bytes, options)
    }

    private func parse(_ bytes: [UInt8], _ options: StrictJSONReader.Options = strict) throws(StrictJSONError) -> StrictJSONValue {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(StrictJSONError) in try StrictJSONReader.parseDocument(buffer, options: options) }
        }
        return try result.get()
    }

    private func error(_ text: String, _ options: StrictJSONReader.Options = strict) -> StrictJSONError? {
        do throws(StrictJSONError) {
            _ = try parse(text, options)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsValuesInOrder() throws {
        let value = try parse(#" {"b": [1, -2.5e3, 18446744073709551616, true, false, null], "a": "x\"\\\/\n\u00e9\ud83d\ude00"} "#)
        #expect(value.keys == ["b", "a"])
        #expect(value["a"]?.stringValue == "x\"\\/\né😀")
        let numbers = value["b"]?.arrayValue?.prefix(3).map { element -> StrictJSONNumber? in
            if case .number(let number) = element { return number }
            return nil
        }
        #expect(numbers?.map { $0?.text } == ["1", "-2.5e3", "18446744073709551616"])
        #expect(numbers?.map { $0?.unsignedValue } == [1, nil, nil])
        #expect(StrictJSONNumber("18446744073709551615").unsignedValue == UInt64.max)
        #expect(StrictJSONNumber("0").unsignedValue == 0 && StrictJSONNumber("1.0").unsignedValue == nil)
    }

    @Test func streamsTokens() throws {
        let bytes = Array(#"{"k": [1, {}], "s": "t"} trailing"#.utf8)
        var tokens: [StrictJSONToken] = []
        var end = 0
        try bytes.withUnsafeBytes { buffer in
            var reader = StrictJSONReader(bytes: buffer, options: Self.strict)
            while let token = try reader.nextToken() { tokens.append(token) }
            end = reader.position
        }
        #expect(tokens == [
            .objectStart, .key("k"), .arrayStart, .number(StrictJSONNumber("1")), .objectStart, .objectEnd, .arrayEnd,
            .key("s"), .string("t"), .objectEnd,
        ])
        #expect(end == 24)
    }

    /// Offsets point at the byte that is wrong.
    @Test func errorsSayWhere() {
        #expect(error(#"{"a":1,"a":2}"#) == .duplicateKey("a", offset: 7))
        #expect(error(#"[1,]"#) == .syntax(offset: 3, reason: "unexpected character"))
        #expect(error(#"{"a" 1}"#) == .syntax(offset: 5, reason: "expected ':'"))
        #expect(error(#"["\ud800"]"#) == .syntax(offset: 8, reason: #"lone leading surrogate in \u escape"#))
        #expect(error(#"["\udc00"]"#) == .syntax(offset: 8, reason: #"lone trailing surrogate in \u escape"#))
        #expect(error(#"["\ud800\u0041"]"#) == .syntax(offset: 14, reason: #"invalid trailing surrogate in \u escape"#))
        #expect(error("[01]") == .syntax(offset: 2, reason: "leading zero in number"))
        #expect(error("[1] 2") == .syntax(offset: 4, reason: "unexpected data after the JSON value"))
        #expect(error(#"["a\x"]"#) == .syntax(offset: 4, reason: "invalid escape"))
    }

    @Test func invalidUTF8InStringsIsRefusedUnlessVouchedFor() throws {
        let bytes: [UInt8] = [0x5B, 0x22, 0x61, 0xC3, 0x28, 0x22, 0x5D]  // ["a\xC3(" ]
        #expect(throws: StrictJSONError.syntax(offset: 3, reason: "string is not valid UTF-8")) { try parse(bytes) }
        let escaped: [UInt8] = [0x5B, 0x22, 0x5C, 0x6E, 0xFF, 0x22, 0x5D]  // ["\n\xFF"]
        #expect(throws: StrictJSONError.syntax(offset: 4, reason: "string is not valid UTF-8")) { try parse(escaped) }
        var vouched = Self.strict
        vouched.inputIsValidUTF8 = true
        #expect(try parse([0x22, 0xC3, 0xA9, 0x22], vouched) == .string("é"))
    }

    @Test(arguments: [
        "", "\u{FEFF}{}", "NaN", "Infinity", "1.", "-", ".5", "+1", "1e", "tru", "nul", "\"abc", "{\"a\"}", "{,}", "[1 2]",
        "{\"a\":1,}", "\"\u{01}\"", #""\u12""#, #""\u12G4""#, "{1:2}", "[", "]",
    ])
    func rejects(text: String) {
        #expect(error(text) != nil, "\(text)")
    }

    @Test func duplicateKeysMayBeKept() throws {
        var options = Self.strict
        options.rejectsDuplicateKeys = false
        let value = try parse(#"{"a":1,"a":2}"#, options)
        #expect(value.keys == ["a", "a"])
        // Past 16 members the check switches to a set; it still finds the repeat.
        let many = "{" + (0..<20).map { "\"k\($0)\":0" }.joined(separator: ",") + ",\"k3\":1}"
        #expect(error(many) == .duplicateKey("k3", offset: many.utf8.count - 7))
    }

    /// `.openContainers(n)`: n arrays may be open, not n + 1, whatever they hold.
    @Test func openContainersLimit() {
        let options = StrictJSONReader.Options(depthLimit: .openContainers(3))
        #expect(error("[[[1]]]", options) == nil)
        #expect(error("[[[[]]]]", options) == .tooDeep(offset: 3))
    }

    /// `.enclosingContainers(n)`: no value inside more than n containers; an empty one may
    /// open at level n + 1.
    @Test func enclosingContainersLimit() {
        let options = StrictJSONReader.Options(depthLimit: .enclosingContainers(3))
        #expect(error("[[[1]]]", options) == nil)
        #expect(error("[[[[]]]]", options) == nil)
        #expect(error("[[[[1]]]]", options) == .tooDeep(offset: 4))
        #expect(error("[[[{\"a\":1}]]]", options) == .tooDeep(offset: 8))
    }

    /// An unterminated prefix far deeper than the limit fails at the limit, without recursing.
    @Test func deepUnterminatedInputStopsAtTheLimit() {
        #expect(error(String(repeating: "[", count: 100_000)) == .tooDeep(offset: 8))
    }
}
