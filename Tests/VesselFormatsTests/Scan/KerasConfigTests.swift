import Testing
@testable import VesselFormats

/// The Keras `config.json` walk, on handcrafted configs in a minimal `.keras` zip.
@Suite("Keras config")
struct KerasConfigTests {
    private func scan(config: String) throws -> ScanFileResult {
        let archive = ContainerTests.zip([(Array("config.json".utf8), Array(config.utf8))])
        return ScanTestSupport.scanner().scanFile(at: try ScanTestSupport.temporaryFile("m.keras", archive))
    }

    @Test func benignConfigIsSafe() throws {
        let result = try scan(config: #"{"module": "keras.layers", "class_name": "Dense", "config": {"units": 1e2, "x": [null, true]}}"#)
        #expect(result.verdict == .safe && result.findings.isEmpty)
    }

    /// Escapes are decoded before judging, so an escaped name is still found.
    @Test func escapedLambdaIsFound() throws {
        let result = try scan(config: #"{"class_name": "Lamb\u0064a"}"#)
        #expect(result.findings.map(\.kind) == [.codeLayer])
    }

    /// A lone UTF-16 surrogate is not text: rejected as the other strict parsers reject it
    /// (it used to become U+FFFD, or go unread in a value nobody judged).
    @Test(arguments: [#"{"class_name": "\ud800"}"#, #"{"name": "\udc00x"}"#, #"{"\ud800": 1}"#, #"{"a": ["\ud800\u0041"]}"#])
    func loneSurrogatesAreMalformed(config: String) throws {
        let result = try scan(config: config)
        #expect(result.findings.map(\.kind) == [.malformed])
        #expect(result.findings.first?.member == "config.json")
    }

    @Test(arguments: ["[]", #"{"a": 1} x"#, #"{"a": 01}"#, #"{"a": "\x"}"#, #"{"a": 1,}"#, "{\"a\": \"\u{01}\"}"])
    func notAJSONObjectIsMalformed(config: String) throws {
        #expect(try scan(config: config).findings.map(\.kind) == [.malformed])
    }

    /// 256 levels pass (the innermost may hold values); a value at level 257 is a limit.
    @Test func nestingIsCapped() throws {
        let deepest = "{\"a\":" + String(repeating: "[", count: 254) + "1" + String(repeating: "]", count: 254) + "}"
        #expect(try scan(config: deepest).findings.isEmpty)
        let tooDeep = "{\"a\":" + String(repeating: "[", count: 255) + "1" + String(repeating: "]", count: 255) + "}"
        #expect(try scan(config: tooDeep).findings.map(\.kind) == [.limitExceeded])
    }

    /// Every value of a repeated key is judged.
    @Test func duplicateKeysCannotHideAName() throws {
        let result = try scan(config: #"{"class_name": "Dense", "class_name": "Lambda"}"#)
        #expect(result.findings.map(\.kind) == [.codeLayer])
    }
}
