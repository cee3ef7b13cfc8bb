import Testing
import VesselCore

@Suite("JSON text")
struct JSONTextTests {
    /// Every control character, quote and backslash escaped; DEL escaped by default and raw
    /// on request (the safetensors writer's serde_json form); the rest as raw UTF-8.
    @Test func escapesAndDEL() {
        let text = "\u{00}\u{08}\u{09}\u{0A}\u{0C}\u{0D}\u{1F}\"\\/\u{7F}é"
        #expect(JSONText.quoted(text) == #""\u0000\b\t\n\f\r\u001f\"\\/\u007fé""#)
        var raw: [UInt8] = []
        JSONText.appendQuoted(text, to: &raw, escapingDEL: false)
        #expect(String(decoding: raw, as: UTF8.self) == "\"\\u0000\\b\\t\\n\\f\\r\\u001f\\\"\\\\/\u{7F}é\"")
    }

    /// What it writes, the strict reader reads back unchanged.
    @Test func roundTrips() throws {
        let text = (0..<0x80).map { String(UnicodeScalar(UInt8($0))) }.joined() + "é😀"
        for escapingDEL in [true, false] {
            var bytes: [UInt8] = []
            JSONText.appendQuoted(text, to: &bytes, escapingDEL: escapingDEL)
            let value = try bytes.withUnsafeBytes { buffer in
                try Result { () throws(StrictJSONError) in
                    try StrictJSONReader.parseDocument(buffer, options: .init(depthLimit: .openContainers(1)))
                }.get()
            }
            #expect(value == .string(text))
        }
    }
}
