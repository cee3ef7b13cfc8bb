import Testing
@testable import VesselFormats

/// One test per rejection rule, each with handcrafted bytes.
@Suite struct SafetensorsRejectionTests {
    let u8a = SafetensorsTestFile.entry("a", "U8", [2], 0, 2)

    @Test func fileShorterThanPrefix() {
        #expect(SafetensorsTestFile.errorCode([]) == "file_too_short")
        #expect(SafetensorsTestFile.errorCode([1, 0, 0, 0, 0, 0, 0]) == "file_too_short")
    }

    @Test func headerAboveCapBeforeAllocating() {
        // 100,000,001 declared, 8-byte file: must fail on the cap, not try to read/allocate.
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.prefix(100_000_001)) == "header_too_large")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.prefix(UInt64.max)) == "header_too_large")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.prefix(UInt64.max - 7)) == "header_too_large")
    }

    @Test func headerLengthPastEndOfFile() {
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.prefix(3) + [0x7B, 0x7D]) == "header_length_exceeds_file")
        // Within the cap but far beyond the file.
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.prefix(100_000_000)) == "header_length_exceeds_file")
    }

    @Test func suppliedBytesShorterThanDeclaredHeader() {
        let bytes = SafetensorsTestFile.prefix(2) + [0x7B]
        #expect(throws: SafetensorsError.inputTruncated(needed: 10, available: 9)) {
            try SafetensorsHeader.parse(bytes, fileSize: 100)
        }
    }

    @Test func headerNotUTF8() {
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(headerBytes: [0x7B, 0x22, 0xFF, 0x22, 0x7D])) == "header_not_utf8")
        // Overlong encoding of "/" and an encoded surrogate are not UTF-8 either.
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(headerBytes: [0x7B, 0x22, 0xC0, 0xAF, 0x22, 0x7D])) == "header_not_utf8")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(headerBytes: [0x7B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x7D])) == "header_not_utf8")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(headerBytes: [0x7B, 0x22, 0xE2, 0x82])) == "header_not_utf8")
        // Inside an otherwise well-formed metadata value (which the fast path reads itself).
        let metadata = Array(#"{"__metadata__":{"k":"x"#.utf8) + [0xFF] + Array(#""}}"#.utf8)
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(headerBytes: metadata)) == "header_not_utf8")
    }

    @Test func leadingWhitespaceRejected() {
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(" {}      ")) == "invalid_header_start")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("\n{}")) == "invalid_header_start")
    }

    @Test func headerNotJSON() {
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"a\":}")) == "header_not_json")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("")) == "header_not_json")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{")) == "header_not_json")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{'a':1}")) == "header_not_json")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"a\":01}")) == "header_not_json")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"a\":\"\\x\"}")) == "header_not_json")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"a\":\"\u{01}\"}")) == "header_not_json")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"a\":\"\\ud800\"}")) == "header_not_json")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"a\":\"\\udc00\"}")) == "header_not_json")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"a\":[1,]}")) == "header_not_json")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"a\":tru}")) == "header_not_json")
    }

    @Test func nestingTooDeep() {
        let deep = "{\"a\":" + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(deep)) == "header_too_deep")
        // An unterminated deep prefix must not recurse without bound either.
        let unterminated = String(repeating: "[", count: 100_000)
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"a\":" + unterminated)) == "header_too_deep")
    }

    @Test func headerNotObject() {
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("[]")) == "header_not_object")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("\"x\"")) == "header_not_object")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("7")) == "header_not_object")
    }

    @Test func paddingOtherThanSpaces() {
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{}\n")) == "invalid_padding")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{}\0")) == "invalid_padding")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{}  \t ")) == "invalid_padding")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{}{}")) == "invalid_padding")
    }

    @Test func duplicateTensorWithIdenticalEntries() {
        let bytes = SafetensorsTestFile.make("{\(u8a),\(u8a)}", data: [1, 2])
        #expect(SafetensorsTestFile.errorCode(bytes) == "duplicate_key")
    }

    @Test func duplicateMetadata() {
        let bytes = SafetensorsTestFile.make("{\"__metadata__\":{},\"__metadata__\":{}}")
        #expect(SafetensorsTestFile.errorCode(bytes) == "duplicate_key")
    }

    @Test func duplicateKeysInsideEntryAndMetadata() {
        let entry = "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(entry, data: [1, 2])) == "duplicate_key")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}")) == "duplicate_key")
    }

    @Test func duplicateAmongManyTensors() {
        // Objects with more than 16 members switch to set-based duplicate detection.
        var parts: [String] = []
        for i in 0..<40 { parts.append(SafetensorsTestFile.entry("t\(i)", "U8", [1], UInt64(i), UInt64(i + 1))) }
        parts.append(SafetensorsTestFile.entry("t7", "U8", [1], 40, 41))
        let bytes = SafetensorsTestFile.make("{" + parts.joined(separator: ",") + "}", data: [UInt8](repeating: 0, count: 41))
        #expect(throws: SafetensorsError.duplicateKey("t7")) { try SafetensorsHeader.parse(fileBytes: bytes) }
    }

    @Test func metadataNotObjectOfStrings() {
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"__metadata__\":{\"a\":1}}")) == "invalid_metadata")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"__metadata__\":[]}")) == "invalid_metadata")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"__metadata__\":{\"a\":null}}")) == "invalid_metadata")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"__metadata__\":\"x\"}")) == "invalid_metadata")
    }

    @Test func tensorEntryMalformed() {
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"a\":5}")) == "invalid_tensor_entry")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\"a\":{\"dtype\":\"U8\",\"shape\":[0]}}")) == "invalid_tensor_entry")
        let extra = "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"x\":1}}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(extra)) == "invalid_tensor_entry")
    }

    @Test func unknownOrWronglyCasedDType() {
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\(SafetensorsTestFile.entry("a", "f32", [1], 0, 4))}", data: [0, 0, 0, 0])) == "unknown_dtype")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\(SafetensorsTestFile.entry("a", "Q9", [1], 0, 4))}", data: [0, 0, 0, 0])) == "unknown_dtype")
        let numeric = "{\"a\":{\"dtype\":1,\"shape\":[1],\"data_offsets\":[0,1]}}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(numeric, data: [0])) == "unknown_dtype")
    }

    @Test(arguments: ["[-1]", "[1.5]", "[2.0]", "[1e2]", "[18446744073709551616]", "\"2\"", "[[2]]", "{}", "[null]"])
    func invalidShape(shape: String) {
        let header = "{\"a\":{\"dtype\":\"U8\",\"shape\":\(shape),\"data_offsets\":[0,2]}}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(header, data: [0, 0])) == "invalid_shape")
    }

    @Test(arguments: ["[2,0]", "[0]", "[0,1,2]", "[-1,1]", "[0,1.0]", "[0,18446744073709551616]", "\"0,1\"", "[]"])
    func invalidOffsets(offsets: String) {
        let header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":\(offsets)}}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(header, data: [0, 0])) == "invalid_offsets")
    }

    @Test func shapeProductOverflows() {
        let header = "{\(SafetensorsTestFile.entry("a", "U8", [4_294_967_296, 4_294_967_296], 0, 1))}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(header, data: [0])) == "size_overflow")
        // Element count fits, bit count does not.
        let bits = "{\(SafetensorsTestFile.entry("a", "F64", [4_611_686_018_427_387_904], 0, 1))}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(bits, data: [0])) == "size_overflow")
    }

    @Test func subByteTensorNotWholeBytes() {
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\(SafetensorsTestFile.entry("a", "F4", [3], 0, 2))}", data: [0, 0])) == "sub_byte_misaligned")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\(SafetensorsTestFile.entry("a", "F6_E2M3", [2], 0, 2))}", data: [0, 0])) == "sub_byte_misaligned")
    }

    @Test func byteSizeDiffersFromShape() {
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\(SafetensorsTestFile.entry("a", "F32", [2], 0, 7))}", data: [UInt8](repeating: 0, count: 7))) == "size_mismatch")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{\(SafetensorsTestFile.entry("a", "F4", [4], 0, 4))}", data: [0, 0, 0, 0])) == "size_mismatch")
    }

    @Test func overlappingTensors() {
        let header = "{\(SafetensorsTestFile.entry("a", "U8", [4], 0, 4)),\(SafetensorsTestFile.entry("b", "U8", [2], 2, 4))}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(header, data: [0, 0, 0, 0])) == "overlapping_tensors")
    }

    @Test func aliasedTensors() {
        let header = "{\(SafetensorsTestFile.entry("a", "U8", [2], 0, 2)),\(SafetensorsTestFile.entry("b", "U8", [2], 0, 2))}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(header, data: [0, 0])) == "overlapping_tensors")
    }

    @Test func zeroSizeTensorInsideAnother() {
        let header = "{\(SafetensorsTestFile.entry("a", "U8", [4], 0, 4)),\(SafetensorsTestFile.entry("z", "U8", [0], 2, 2))}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(header, data: [0, 0, 0, 0])) == "overlapping_tensors")
    }

    @Test func holeBetweenTensors() {
        let header = "{\(SafetensorsTestFile.entry("a", "U8", [2], 0, 2)),\(SafetensorsTestFile.entry("b", "U8", [2], 3, 5))}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(header, data: [0, 0, 0, 0, 0])) == "hole_in_buffer")
    }

    @Test func firstTensorStartsAfterZero() {
        let header = "{\(SafetensorsTestFile.entry("a", "U8", [2], 1, 3))}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(header, data: [0, 0, 0])) == "hole_in_buffer")
    }

    @Test func tensorRunsPastBuffer() {
        let header = "{\(SafetensorsTestFile.entry("a", "U8", [4], 0, 4))}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(header, data: [0, 0])) == "buffer_overrun")
        let huge = "{\(SafetensorsTestFile.entry("a", "U8", [1 << 60], 0, 1 << 60))}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(huge, data: [0])) == "buffer_overrun")
    }

    @Test func trailingBytesAfterLastTensor() {
        let header = "{\(SafetensorsTestFile.entry("a", "U8", [2], 0, 2))}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(header, data: [0, 0, 0])) == "trailing_bytes")
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{}", data: [0])) == "trailing_bytes")
    }

    @Test func everyErrorHasStableCodeAndMessage() {
        let errors: [SafetensorsError] = [
            .fileTooShort(fileSize: 1), .headerTooLarge(declared: 1), .headerLengthExceedsFile(declared: 1, fileSize: 1),
            .inputTruncated(needed: 1, available: 0), .headerNotUTF8(offset: 0), .invalidHeaderStart,
            .headerNotJSON(offset: 0, reason: "x"), .headerTooDeep(offset: 0), .headerNotObject, .invalidPadding(offset: 0),
            .duplicateKey("k"), .invalidMetadata(reason: "x"), .invalidTensorEntry(tensor: "t", reason: "x"),
            .unknownDType(tensor: "t", dtype: "x"), .invalidShape(tensor: "t"), .invalidOffsets(tensor: "t"),
            .sizeOverflow(tensor: "t"), .subByteMisaligned(tensor: "t"), .sizeMismatch(tensor: "t", expected: 1, actual: 2),
            .overlappingTensors(tensor: "t", previous: "p"), .holeInBuffer(tensor: "t", offset: 0),
            .bufferOverrun(tensor: "t", end: 1, bufferSize: 0), .trailingBytes(count: 1), .ioError(operation: "o", reason: "r"),
        ]
        #expect(Set(errors.map(\.code)).count == errors.count)
        for error in errors {
            #expect(error.code.allSatisfy { $0 == "_" || $0.isNumber || ($0.isLowercase && $0.isASCII) })
            #expect(!error.message.isEmpty)
        }
        #expect(SafetensorsError.duplicateKey("a\u{1}\"").message.contains("a\\u{1}\\\""))
    }
}
