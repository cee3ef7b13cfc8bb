import Foundation
import Testing
@testable import VesselFormats

/// The memory-mapped zero-copy reader.
@Suite struct SafetensorsFileTests {
    @Test func viewsEqualTheWrittenBytes() throws {
        let directory = try SafetensorsTestFile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        var expected: [String: [UInt8]] = [:]
        for (index, dtype) in SafetensorsDType.allCases.enumerated() {
            let bytes = (0..<Int(dtype.bitWidth)).map { UInt8(truncatingIfNeeded: $0 * 13 + index) }
            try writer.addTensor(name: "t\(index)", dtype: dtype, shape: [2, 4], bytes: bytes)
            expected["t\(index)"] = bytes
        }
        try writer.addTensor(name: "empty", dtype: .f32, shape: [0], bytes: [])
        let path = directory + "/w.safetensors"
        try writer.write(toPath: path)

        let file = try SafetensorsFile(path: path)
        #expect(file.tensors.count == expected.count + 1)
        var seen = 0
        file.forEachTensor { view in
            if let bytes = expected[view.name] {
                #expect(Array(view.bytes) == bytes)
                #expect(view.shape == [2, 4])
                seen += 1
            } else {
                #expect(view.name == "empty")
                #expect(view.bytes.isEmpty)
            }
        }
        #expect(seen == expected.count)
        let bf16 = file.withTensor(named: "t14") { view in (view.dtype, Array(view.bytes)) }
        #expect(bf16?.0 == .bf16)
        #expect(bf16?.1 == expected["t14"])
        #expect(file.withTensor(named: "missing") { _ in 1 } == nil)
        let total = file.withDataBuffer { $0.count }
        #expect(UInt64(total) == file.header.dataLength)
    }

    @Test func rejectsInvalidFilesAndUnmapsThem() throws {
        let directory = try SafetensorsTestFile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bad = directory + "/bad.safetensors"
        try Data(SafetensorsTestFile.make("{}", data: [1])).write(to: URL(fileURLWithPath: bad))
        #expect(throws: SafetensorsError.trailingBytes(count: 1)) { try SafetensorsFile(path: bad) }
        let empty = directory + "/empty.safetensors"
        try Data().write(to: URL(fileURLWithPath: empty))
        #expect(throws: SafetensorsError.fileTooShort(fileSize: 0)) { try SafetensorsFile(path: empty) }
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: directory + "/absent") }
    }

    @Test func readsPythonWrittenSeed() throws {
        let path = SafetensorsTestFile.fixturesDirectory() + "/seeds/seed-mixed.safetensors"
        let file = try SafetensorsFile(path: path)
        let raw = try SafetensorsTestFile.fixture("seeds/seed-mixed.safetensors")
        let start = Int(file.header.dataStart)
        for info in file.tensors {
            let bytes = file.withTensor(named: info.name) { Array($0.bytes) }
            #expect(bytes == Array(raw[(start + Int(info.dataBegin))..<(start + Int(info.dataEnd))]))
        }
    }
}
