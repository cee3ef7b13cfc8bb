import Testing
@testable import VesselFormats

/// One test per acceptance rule.
@Suite struct SafetensorsAcceptanceTests {
    @Test func emptyObject() throws {
        let header = try SafetensorsHeader.parse(fileBytes: SafetensorsTestFile.make("{}"))
        #expect(header.tensors.isEmpty)
        #expect(header.metadata == nil)
        #expect(header.headerLength == 2)
        #expect(header.dataStart == 10)
        #expect(header.dataLength == 0)
    }

    @Test func onlyMetadata() throws {
        let header = try SafetensorsHeader.parse(fileBytes: SafetensorsTestFile.make("{\"__metadata__\":{\"format\":\"pt\",\"ü\":\"\\u00e9\\n\"}}"))
        #expect(header.tensors.isEmpty)
        #expect(header.metadata == ["format": "pt", "ü": "é\n"])
    }

    @Test func emptyMetadataObject() throws {
        let header = try SafetensorsHeader.parse(fileBytes: SafetensorsTestFile.make("{\"__metadata__\":{}}"))
        #expect(header.metadata == [:])
    }

    @Test func zeroElementTensors() throws {
        let header = "{\(SafetensorsTestFile.entry("a", "F32", [0, 3], 0, 0)),\(SafetensorsTestFile.entry("b", "BF16", [0], 0, 0)),\(SafetensorsTestFile.entry("c", "U8", [2], 0, 2)),\(SafetensorsTestFile.entry("d", "I64", [4, 0], 2, 2))}"
        let parsed = try SafetensorsHeader.parse(fileBytes: SafetensorsTestFile.make(header, data: [1, 2]))
        #expect(parsed.tensors.map(\.name) == ["a", "b", "c", "d"])
        #expect(parsed.tensor(named: "a")?.elementCount == 0)
        #expect(parsed.tensor(named: "d")?.byteCount == 0)
    }

    @Test func rankZeroTensor() throws {
        let parsed = try SafetensorsHeader.parse(fileBytes: SafetensorsTestFile.make("{\(SafetensorsTestFile.entry("s", "F64", [], 0, 8))}", data: [UInt8](repeating: 0, count: 8)))
        let scalar = try #require(parsed.tensor(named: "s"))
        #expect(scalar.shape.isEmpty)
        #expect(scalar.elementCount == 1)
        #expect(scalar.byteCount == 8)
    }

    @Test func unicodeAndEscapedNames() throws {
        // Raw UTF-8, a \u escape, a surrogate pair (U+1F600) and escaped quote/backslash.
        let header = "{\"名前\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
            + "\"\\u00fc\\ud83d\\ude00\\\"\\\\\\/\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}"
        let parsed = try SafetensorsHeader.parse(fileBytes: SafetensorsTestFile.make(header, data: [7, 9]))
        #expect(parsed.tensor(named: "名前")?.dataBegin == 0)
        #expect(parsed.tensor(named: "ü😀\"\\/")?.dataBegin == 1)
    }

    @Test func canonicallyEquivalentNamesAreDuplicates() {
        // Decision (docs/safetensors.md): Swift compares strings by canonical equivalence, so
        // "é" precomposed and decomposed are one key. Two names that render identically are
        // rejected as duplicates (stricter than the reference, which compares bytes).
        let header = "{\"\u{E9}\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"e\u{301}\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}"
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make(header, data: [1, 2])) == "duplicate_key")
    }

    @Test func outOfOrderTensorsAreSortedByOffset() throws {
        let header = "{\(SafetensorsTestFile.entry("c", "U8", [1], 3, 4)),\(SafetensorsTestFile.entry("a", "U16", [1], 0, 2)),\(SafetensorsTestFile.entry("b", "U8", [1], 2, 3))}"
        let parsed = try SafetensorsHeader.parse(fileBytes: SafetensorsTestFile.make(header, data: [1, 2, 3, 4]))
        #expect(parsed.tensors.map(\.name) == ["a", "b", "c"])
    }

    @Test func parsedNamesAreValuesLikeHandMadeOnes() throws {
        // Parsed entries make their names from the header's bytes on demand (long names, so
        // no small-string storage), ties of zero-size tensors are ordered by those bytes, and
        // an entry equals and hashes like one built by hand with the same name.
        let long = "model.layers.17.self_attn.q_proj.weight"
        let header = "{\(SafetensorsTestFile.entry(long + ".z", "U8", [0], 0, 0)),\(SafetensorsTestFile.entry(long, "F16", [1], 0, 2)),\(SafetensorsTestFile.entry(long + ".a", "U8", [0], 0, 0))}"
        let parsed = try SafetensorsHeader.parse(fileBytes: SafetensorsTestFile.make(header, data: [1, 2]))
        #expect(parsed.tensors.map(\.name) == [long + ".a", long + ".z", long])
        let made = SafetensorsTensorInfo(name: long, dtype: .f16, shape: [1], dataBegin: 0, dataEnd: 2, elementCount: 1)
        let tensor = try #require(parsed.tensor(named: long))
        #expect(tensor == made)
        #expect(tensor.hashValue == made.hashValue)
        #expect(Set([tensor, made]).count == 1)
        #expect(tensor != parsed.tensors[0])
    }

    @Test func trailingSpacePaddingAnyLength() throws {
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{}      ")) == nil)
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{} ")) == nil)
        #expect(SafetensorsTestFile.errorCode(SafetensorsTestFile.make("{ \"__metadata__\" : { } }  ")) == nil)
    }

    @Test(arguments: SafetensorsDType.allCases)
    func everyDType(dtype: SafetensorsDType) throws {
        // 8 elements fill whole bytes for every dtype, including F4 (4 B) and F6 (6 B).
        let bytes = Int(dtype.bitWidth)
        let file = SafetensorsTestFile.make("{\(SafetensorsTestFile.entry("t", dtype.rawValue, [2, 4], 0, UInt64(bytes)))}", data: [UInt8](repeating: 0xAB, count: bytes))
        let parsed = try SafetensorsHeader.parse(fileBytes: file)
        #expect(parsed.tensors.first?.dtype == dtype)
        #expect(parsed.tensors.first?.byteCount == UInt64(bytes))
    }

    @Test func dtypeSizes() {
        #expect(SafetensorsDType.allCases.count == 22)
        #expect(SafetensorsDType.bf16.bitWidth == 16)
        #expect(SafetensorsDType.f8E4M3.bitWidth == 8)
        #expect(SafetensorsDType.f8E8M0.bitWidth == 8)
        #expect(SafetensorsDType.f4.bitWidth == 4)
        #expect(SafetensorsDType.f6E3M2.bitWidth == 6)
        #expect(SafetensorsDType.c64.bitWidth == 64)
        #expect(SafetensorsDType(rawValue: "F8_E4M3FNUZ") == .f8E4M3FNUZ)
    }

    @Test func largeOffsetsWithinFileSize() throws {
        // Offsets near 2^32 handled without touching data: parse the header alone with a
        // declared file size, as the registry does for blobs.
        let size: UInt64 = 5_000_000_000
        let headerText = "{\(SafetensorsTestFile.entry("big", "U8", [size], 0, size))}"
        let bytes = SafetensorsTestFile.make(headerText)
        let parsed = try SafetensorsHeader.parse(bytes, fileSize: UInt64(bytes.count) + size)
        #expect(parsed.tensors.first?.byteCount == size)
    }

    @Test func wholeFileOrHeaderOnlyGiveSameResult() throws {
        let file = try SafetensorsTestFile.fixture("seeds/seed-mixed.safetensors")
        let whole = try SafetensorsHeader.parse(fileBytes: file)
        let headerOnly = try SafetensorsHeader.parse(Array(file[0..<Int(whole.dataStart)]), fileSize: UInt64(file.count))
        #expect(whole == headerOnly)
        #expect(whole.metadata == ["format": "pt"])
        #expect(whole.tensors.count == 5)
    }
}
