import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VesselCore
import VesselFormats
@testable import VesselServer

/// The commit pipeline: strict safetensors validation with summaries, the scanner and the
/// format policy, as the API shows them.
@Suite struct ValidationAPITests {
    static func safetensors(_ tensors: [(String, SafetensorsDType, [UInt64])], metadata: [String: String]? = nil) throws -> [UInt8] {
        var writer = SafetensorsWriter(metadata: metadata)
        for (name, dtype, shape) in tensors {
            let count = Int(shape.reduce(1, *)) * Int(dtype.bitWidth) / 8
            try writer.addTensor(name: name, dtype: dtype, shape: shape, bytes: [UInt8](repeating: 1, count: count))
        }
        return try writer.serialize()
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return Array(try Data(contentsOf: root.appendingPathComponent("VesselFormatsTests/Fixtures/scan/\(name)")))
    }

    @Test func validSafetensorsStoreASummaryAndFilter() async throws {
        let small = try Self.safetensors([("w", .bf16, [4, 8]), ("b", .f32, [8])], metadata: ["format": "pt"])
        let large = try Self.safetensors([("w", .f32, [64, 64])])
        try await APIHarness.with { _, client in
            let v1 = try await APIHarness.push(client, model: "acme/st", files: ["model.safetensors": small, "config.json": Array("{}".utf8)])
            #expect(v1.state == .ready)
            let summary = try #require(v1.summary)
            #expect(summary.parameters == 40 && summary.tensorCount == 2 && summary.shardCount == 1)
            #expect(summary.dtypes["BF16"]?.parameters == 32 && summary.dtypes["F32"]?.bytes == 32)
            #expect(summary.metadata == ["format": "pt"])
            _ = try await APIHarness.push(client, model: "acme/st", files: ["model.safetensors": large])
            for (query, expected) in [("min_parameters=100", [2]), ("max_parameters=100", [1]), ("dtype=BF16", [1]), ("dtype=F32", [2, 1]), ("dtype=F16", [])] {
                try await client.execute(uri: "/api/v1/models/acme/st/versions?\(query)", method: .get, headers: APIHarness.auth) { response in
                    let page = try APIHarness.decode(Page<VersionInfo>.self, response)
                    #expect(page.items.map(\.version) == expected, "\(query)")
                }
            }
            try await client.execute(uri: "/api/v1/models/acme/st/versions?min_parameters=-1", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func invalidSafetensorsQuarantineWithTheReason() async throws {
        let broken = Array(try Self.safetensors([("w", .f32, [4])]).dropLast(4))
        try await APIHarness.with { _, client in
            let version = try await APIHarness.push(client, model: "acme/bad", files: ["model.safetensors": broken])
            #expect(version.state == .quarantined)
            let finding = try #require(version.findings.first { $0.validator == "safetensors" })
            #expect(finding.path == "model.safetensors")
            #expect(finding.code == "buffer_overrun" || finding.code == "size_mismatch" || finding.code == "header_length_exceeds_file", "\(finding)")
            #expect(version.summary == nil)
        }
    }

    @Test func shardIndexMustMatchTheShards() async throws {
        let shard1 = try Self.safetensors([("a", .f32, [2])])
        let shard2 = try Self.safetensors([("b", .f32, [2])])
        @Sendable func index(_ map: [String: String], total: Int) -> [UInt8] {
            let entries = map.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ")
            return Array("{\"metadata\": {\"total_size\": \(total)}, \"weight_map\": {\(entries)}}".utf8)
        }
        try await APIHarness.with { _, client in
            let good = try await APIHarness.push(client, model: "acme/sharded", files: [
                "model-00001-of-00002.safetensors": shard1, "model-00002-of-00002.safetensors": shard2,
                "model.safetensors.index.json": index(["a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"], total: 16),
            ])
            #expect(good.state == .ready, "\(good.findings)")
            #expect(good.summary?.shardCount == 2)
            let wrong = try await APIHarness.push(client, model: "acme/sharded", files: [
                "model-00001-of-00002.safetensors": shard1, "model-00002-of-00002.safetensors": shard2,
                "model.safetensors.index.json": index(["a": "model-00002-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"], total: 16),
            ])
            #expect(wrong.state == .quarantined)
            #expect(wrong.findings.first?.code == "tensor_missing", "\(wrong.findings)")
            #expect(wrong.findings.first?.path == "model.safetensors.index.json")
        }
    }

    /// `safetensors-only` is judged in VesselMetadata, which has no scanner: the format names
    /// it admits must be exactly the formats of the `safetensors` and `data` families.
    @Test func theSafetensorsOnlyGateAdmitsTheSafetensorsAndDataFamilies() {
        let admitted = ScanFormat.allCases.filter { [.safetensors, .data].contains($0.family) }.map(\.rawValue)
        #expect(Set(admitted) == Gate.safetensorsOnlyFormats)
        #expect(ScanFormatPolicy.registryDefault.names == ["safetensors", "data"])
    }

    @Test func picklesAreRefusedByDefaultAndMustScanCleanWhenAllowed() async throws {
        let benign = try Self.fixture("benign_ordereddict_p2.pkl")
        let malicious = try Self.fixture("global_os_system.pkl")
        try await APIHarness.with { _, client in
            let refused = try await APIHarness.push(client, model: "acme/pkl", files: ["model.pkl": benign])
            #expect(refused.state == .quarantined)
            #expect(refused.findings.map(\.code) == ["format_not_allowed"])
            try await client.execute(uri: "/api/v1/policies", method: .put, headers: APIHarness.auth, body: APIHarness.json(FormatPolicyRequest(scope: "acme/*", formats: ["safetensors", "data", "pickle"]))) { response in
                #expect(response.status == .ok)
            }
            for formats in [["exe"], [], ["safetensors", " data"]] {
                try await client.execute(uri: "/api/v1/policies", method: .put, headers: APIHarness.auth, body: APIHarness.json(FormatPolicyRequest(scope: "acme/*", formats: formats))) { response in
                    #expect(response.status == .badRequest)
                    #expect(String(buffer: response.body).contains("formats must be a non-empty list of: safetensors, data, pickle"))
                }
            }
            let allowed = try await APIHarness.push(client, model: "acme/pkl", files: ["model.pkl": benign])
            #expect(allowed.state == .ready, "\(allowed.findings)")
            let unsafe = try await APIHarness.push(client, model: "acme/pkl", files: ["model.pkl": malicious])
            #expect(unsafe.state == .quarantined)
            let finding = try #require(unsafe.findings.first)
            #expect(finding.code == "unsafe" && finding.message.contains("posix") || finding.message.contains("os"), "\(finding)")
            // The stored scan report names the format and verdict per file.
            try await client.execute(uri: "/api/v1/models/acme/pkl/versions/\(unsafe.version)", method: .get, headers: APIHarness.auth) { response in
                let version = try APIHarness.decode(VersionInfo.self, response)
                #expect(version.scan?.first?.verdict == "unsafe")
                #expect(version.scan?.first?.format == "pickle")
            }
            // Files are scanned several at a time; the report and findings keep manifest order.
            var files: [String: [UInt8]] = [:]
            for index in 0..<7 { files["shard-\(index).pkl"] = index % 3 == 1 ? malicious : benign }
            files["config.json"] = Array("{}".utf8)
            let many = try await APIHarness.push(client, model: "acme/pkl", files: files)
            #expect(many.state == .quarantined)
            #expect(many.findings.compactMap(\.path) == ["shard-1.pkl", "shard-4.pkl"])
            try await client.execute(uri: "/api/v1/models/acme/pkl/versions/\(many.version)", method: .get, headers: APIHarness.auth) { response in
                let version = try APIHarness.decode(VersionInfo.self, response)
                let scan = version.scan ?? []
                #expect(scan.map(\.path) == ["config.json"] + (0..<7).map { "shard-\($0).pkl" })
                #expect(scan.map(\.verdict) == ["safe", "safe", "unsafe", "safe", "safe", "unsafe", "safe", "safe"])
            }
            // Another owner still has the default policy.
            let other = try await APIHarness.push(client, model: "beta/pkl", files: ["model.pkl": benign])
            #expect(other.state == .quarantined)
        }
    }
}
