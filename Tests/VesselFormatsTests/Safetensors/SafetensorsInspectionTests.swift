import Foundation
import Testing
@testable import VesselFormats

@Suite struct SafetensorsInspectionTests {
    /// Writes a 2-shard checkpoint with an index into a fresh folder.
    static func checkpoint(totalSize: UInt64 = 30) throws -> String {
        let directory = try SafetensorsTestFile.temporaryDirectory()
        var first = SafetensorsWriter(metadata: ["format": "pt"])
        try first.addTensor(name: "embed", dtype: .bf16, shape: [2, 4], bytes: [UInt8](repeating: 1, count: 16))
        try first.addTensor(name: "scale", dtype: .f32, shape: [], bytes: [0, 0, 128, 63])
        try first.write(toPath: directory + "/model-00001-of-00002.safetensors")
        var second = SafetensorsWriter(metadata: ["format": "pt"])
        try second.addTensor(name: "head", dtype: .f8E4M3, shape: [8], bytes: [UInt8](repeating: 2, count: 8))
        try second.addTensor(name: "q", dtype: .f4, shape: [4], bytes: [3, 4])
        try second.write(toPath: directory + "/model-00002-of-00002.safetensors")
        let index = """
            {"metadata": {"total_size": \(totalSize)}, "weight_map": {
              "embed": "model-00001-of-00002.safetensors", "scale": "model-00001-of-00002.safetensors",
              "head": "model-00002-of-00002.safetensors", "q": "model-00002-of-00002.safetensors"}}
            """
        try Data(index.utf8).write(to: URL(fileURLWithPath: directory + "/model.safetensors.index.json"))
        return directory
    }

    @Test func summaryOfShardedCheckpoint() throws {
        let directory = try Self.checkpoint()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let report = SafetensorsInspector.inspect(path: directory)
        #expect(report.valid)
        let summary = try #require(report.summary)
        #expect(summary.parameters == 8 + 1 + 8 + 4)
        #expect(summary.tensorCount == 4)
        #expect(summary.tensorBytes == 30)
        #expect(summary.shardCount == 2)
        #expect(summary.dtypes["BF16"] == .init(parameters: 8, bytes: 16))
        #expect(summary.dtypes["F4"] == .init(parameters: 4, bytes: 2))
        #expect(summary.metadata == ["format": "pt"])
        #expect(report.shards == .init(index: "model.safetensors.index.json", consistent: true))
        #expect(report.files.map(\.path) == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
    }

    @Test func jsonOutputShape() throws {
        let directory = try Self.checkpoint()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = try SafetensorsInspector.inspect(path: directory).jsonData()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["valid"] as? Bool == true)
        #expect(object["parameters"] as? Int == 21)
        #expect(object["tensor_count"] as? Int == 4)
        #expect(object["tensor_bytes"] as? Int == 30)
        let shards = try #require(object["shards"] as? [String: Any])
        #expect(shards["consistent"] as? Bool == true)
        let files = try #require(object["files"] as? [[String: Any]])
        let tensors = try #require(files.first?["tensors"] as? [[String: Any]])
        #expect(tensors.first?["name"] as? String == "embed")
        #expect(tensors.first?["shape"] as? [Int] == [2, 4])
        #expect(tensors.first?["bytes"] as? Int == 16)
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains(directory))
    }

    @Test func inconsistentIndexMakesReportInvalid() throws {
        let directory = try Self.checkpoint(totalSize: 31)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let report = SafetensorsInspector.inspect(path: directory)
        #expect(!report.valid)
        #expect(report.error?.code == "total_size_mismatch")
        #expect(report.error?.path == "model.safetensors.index.json")
        let object = try JSONSerialization.jsonObject(with: try report.jsonData()) as? [String: Any]
        #expect(object?["valid"] as? Bool == false)
        #expect((object?["error"] as? [String: Any])?["code"] as? String == "total_size_mismatch")
        #expect(report.renderText().hasPrefix("invalid: model.safetensors.index.json: "))
    }

    @Test func invalidShardReportsItsOwnCode() throws {
        let directory = try SafetensorsTestFile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(SafetensorsTestFile.make("{}", data: [1, 2])).write(to: URL(fileURLWithPath: directory + "/x.safetensors"))
        let report = SafetensorsInspector.inspect(path: directory + "/x.safetensors")
        #expect(report.error == .init(code: "trailing_bytes", message: SafetensorsError.trailingBytes(count: 2).message, path: "x.safetensors"))
    }

    @Test func singleFileAndTextRendering() throws {
        let report = SafetensorsInspector.inspect(path: SafetensorsTestFile.fixturesDirectory() + "/seeds/seed-mixed.safetensors")
        #expect(report.valid)
        #expect(report.shards == nil)
        let text = report.renderText()
        #expect(text.contains("seed-mixed.safetensors: 5 tensors"))
        #expect(text.contains("total: "))
    }

    @Test func missingPathAndEmptyFolder() throws {
        #expect(SafetensorsInspector.inspect(path: "/nonexistent/vessel").error?.code == "not_found")
        let directory = try SafetensorsTestFile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(SafetensorsInspector.inspect(path: directory).error?.code == "no_safetensors_files")
    }

    @Test func summaryIsCodableWithSnakeCaseKeys() throws {
        let header = try SafetensorsHeader.parse(fileBytes: try SafetensorsTestFile.fixture("seeds/seed-mixed.safetensors"))
        let summary = SafetensorsSummary(headers: [header])
        let data = try JSONEncoder().encode(summary)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"tensor_count\":5"))
        #expect(try JSONDecoder().decode(SafetensorsSummary.self, from: data) == summary)
    }
}
