import Foundation
import Testing
@testable import VesselFormats

@Suite struct SafetensorsWriterTests {
    @Test func roundTripInMemory() throws {
        var writer = SafetensorsWriter(metadata: ["format": "pt", "quote\"key": "line\nbreak"])
        try writer.addTensor(name: "w", dtype: .bf16, shape: [2, 3], bytes: Array(0..<12))
        try writer.addTensor(name: "名\u{1}", dtype: .f4, shape: [4], bytes: [0x12, 0x34])
        try writer.addTensor(name: "s", dtype: .f32, shape: [], bytes: [1, 2, 3, 4])
        try writer.addTensor(name: "z", dtype: .i64, shape: [0, 5], bytes: [])
        let bytes = try writer.serialize()
        let header = try SafetensorsHeader.parse(fileBytes: bytes)
        #expect(header.headerLength % 8 == 0)
        #expect(header.metadata == ["format": "pt", "quote\"key": "line\nbreak"])
        #expect(header.tensors.map(\.name) == ["w", "名\u{1}", "s", "z"])
        #expect(header.tensor(named: "名\u{1}")?.dataOffsets.begin == 12)
        #expect(UInt64(bytes.count) == (try writer.fileSize()))
        let start = Int(header.dataStart)
        #expect(Array(bytes[start..<start + 12]) == Array(0..<12))
    }

    @Test func headerLayoutMatchesReference() throws {
        var writer = SafetensorsWriter()
        try writer.addTensor(name: "a", dtype: .u8, shape: [1], bytes: [5])
        let header = try writer.headerBytes()
        let json = String(decoding: header[8...], as: UTF8.self)
        #expect(json == "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}   ")
        #expect(header[0] == 56)
    }

    @Test func rejectsBadTensors() {
        var writer = SafetensorsWriter()
        #expect(throws: SafetensorsError.sizeMismatch(tensor: "a", expected: 8, actual: 4)) {
            try writer.addTensor(name: "a", dtype: .f32, shape: [2], bytes: [0, 0, 0, 0])
        }
        #expect(throws: SafetensorsError.duplicateKey("__metadata__")) {
            try writer.addTensor(name: "__metadata__", dtype: .u8, shape: [0], bytes: [])
        }
        #expect(throws: SafetensorsError.subByteMisaligned(tensor: "f")) {
            try writer.addTensor(name: "f", dtype: .f4, shape: [3], bytes: [0, 0])
        }
        #expect(throws: SafetensorsError.sizeOverflow(tensor: "o")) {
            try writer.addTensor(name: "o", dtype: .u8, shape: [1 << 40, 1 << 40], bytes: [])
        }
        #expect(throws: Never.self) { try writer.addTensor(name: "b", dtype: .u8, shape: [1], bytes: [1]) }
        #expect(throws: SafetensorsError.duplicateKey("b")) {
            try writer.addTensor(name: "b", dtype: .u8, shape: [1], bytes: [1])
        }
    }

    @Test func generatedTensorsStreamInChunks() throws {
        let directory = try SafetensorsTestFile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var writer = SafetensorsWriter()
        let count: UInt64 = UInt64(SafetensorsWriter.chunkSize) * 2 + 100
        try writer.addTensor(name: "g", dtype: .u8, shape: [count]) { chunk, offset in
            for index in 0..<chunk.count { chunk[index] = UInt8(truncatingIfNeeded: offset + UInt64(index)) }
        }
        try writer.addTensor(name: "h", dtype: .u16, shape: [2], bytes: [9, 9, 9, 9])
        let path = directory + "/g.safetensors"
        try writer.write(toPath: path)
        let file = try SafetensorsFile(path: path)
        let ok = file.withTensor(named: "g") { view in
            view.bytes.count == Int(count) && view.bytes.enumerated().allSatisfy { $0.element == UInt8(truncatingIfNeeded: $0.offset) }
        }
        #expect(ok == true)
        #expect(file.withTensor(named: "h") { Array($0.bytes) } == [9, 9, 9, 9])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(leftovers == ["g.safetensors"])
    }

    @Test func failedWriteLeavesNothing() throws {
        var writer = SafetensorsWriter()
        try writer.addTensor(name: "a", dtype: .u8, shape: [1], bytes: [1])
        #expect(throws: SafetensorsError.self) { try writer.write(toPath: "/nonexistent-dir/x.safetensors") }
    }

    /// Strings are escaped byte for byte as serde_json escapes them (its ESCAPE table): the
    /// short forms for \b \t \n \f \r, `\u00xx` for the other control characters, DEL and
    /// non-ASCII raw.
    @Test func stringsAreEscapedAsSerdeJSONDoes() {
        var text = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self)
        text += "\"\\/\u{7F}é"
        var out: [UInt8] = []
        appendSafetensorsJSONString(text, to: &out)
        let short: [UInt8: String] = [0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"]
        let controls = (0..<0x20).map { byte in short[UInt8(byte)] ?? "\\u00" + String(format: "%02x", byte) }.joined()
        #expect(String(decoding: out, as: UTF8.self) == "\"" + controls + "\\\"\\\\/\u{7F}é\"")
    }
}
