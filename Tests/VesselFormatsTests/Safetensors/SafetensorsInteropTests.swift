import Foundation
import Testing
import VesselTestSupport
@testable import VesselFormats

/// Where the interop tests find Python (outside the suite: its trait cannot refer to it).
enum SafetensorsInteropEnvironment {
    static let python = ProcessInfo.processInfo.environment["VESSEL_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
}

/// Round trips with the reference implementation (PyPI `safetensors==0.8.0`) through
/// scripts/safetensors_interop.py. Runs only when `VESSEL_TEST_PYTHON` names a Python with
/// safetensors installed; the main repository's test script always sets it and fails CI when
/// it is missing, so a skip here is visible and deliberate, never silent.
@Suite(
    .enabled(
        if: SafetensorsInteropEnvironment.python != nil,
        "VESSEL_TEST_PYTHON is not set: Python safetensors interop tests skipped"
    )
)
struct SafetensorsInteropTests {
    static func script(_ file: String = #filePath) -> String {
        URL(fileURLWithPath: file)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/safetensors_interop.py").path
    }

    struct Manifest: Decodable {
        struct File: Decodable {
            let metadata: [String: String]?
            let tensors: [String: Tensor]
        }
        struct Tensor: Decodable, Equatable {
            let dtype: String
            let shape: [UInt64]
            let sha256: String
            let bytes: Int
        }
        let files: [String: File]
    }

    /// Runs the reference script through the tests' one process runner (no pool thread
    /// blocked while Python works, no pipe to fill, a time limit).
    static func run(_ command: String, _ directory: String) async throws -> Manifest {
        let result = try await runProcess(SafetensorsInteropEnvironment.python ?? "/usr/bin/python3", [script(), command, directory])
        guard result.status == 0 else {
            throw InteropFailure(message: "interop script failed: \(result.stderr)")
        }
        return try JSONDecoder().decode(Manifest.self, from: Data(result.stdout.utf8))
    }

    struct InteropFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Vessel's view of every file in `directory`, in manifest form.
    static func vesselManifest(_ directory: String) throws -> [String: Manifest.File] {
        var files: [String: Manifest.File] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".safetensors") {
            let file = try SafetensorsFile(path: directory + "/" + name)
            var tensors: [String: Manifest.Tensor] = [:]
            file.forEachTensor { view in
                tensors[view.name] = .init(dtype: view.dtype.rawValue, shape: view.shape, sha256: SafetensorsTestSHA256.hex(view.bytes), bytes: view.bytes.count)
            }
            files[name] = .init(metadata: file.header.metadata, tensors: tensors)
        }
        return files
    }

    @Test func pythonWritesVesselReads() async throws {
        let directory = try SafetensorsTestFile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reference = try await Self.run("write", directory)
        let ours = try Self.vesselManifest(directory)
        #expect(Set(ours.keys) == Set(reference.files.keys))
        #expect(reference.files.count >= 3)
        for (name, expected) in reference.files {
            let actual = try #require(ours[name])
            #expect(actual.metadata == expected.metadata, "\(name)")
            #expect(actual.tensors == expected.tensors, "\(name)")
        }
        // Every dtype Python 0.8.0 can write reached us, BF16 and F8 included.
        let dtypes = Set(reference.files.values.flatMap { $0.tensors.values.map(\.dtype) })
        #expect(dtypes.isSuperset(of: ["BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "C64", "BOOL"]))
    }

    @Test func vesselWritesPythonReads() async throws {
        let directory = try SafetensorsTestFile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var all = SafetensorsWriter(metadata: ["format": "pt", "writer": "vessel ✓"])
        for (index, dtype) in SafetensorsDType.allCases.enumerated() {
            let bytes = (0..<Int(dtype.bitWidth) * 3).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ index) }
            try all.addTensor(name: "t.\(dtype.rawValue.lowercased())", dtype: dtype, shape: [3, 2, 4], bytes: bytes)
        }
        try all.addTensor(name: "scalar", dtype: .f64, shape: [], bytes: [1, 2, 3, 4, 5, 6, 7, 8])
        try all.addTensor(name: "empty", dtype: .bf16, shape: [0, 7], bytes: [])
        try all.addTensor(name: "ünï\"code\\名", dtype: .u8, shape: [3], bytes: [1, 2, 3])
        try all.write(toPath: directory + "/vessel_all.safetensors")
        var streamed = SafetensorsWriter()
        try streamed.addTensor(name: "big", dtype: .bf16, shape: [1024, 700]) { chunk, offset in
            for index in 0..<chunk.count { chunk[index] = UInt8(truncatingIfNeeded: (offset + UInt64(index)) % 251) }
        }
        try streamed.write(toPath: directory + "/vessel_streamed.safetensors")
        try SafetensorsWriter().write(toPath: directory + "/vessel_empty.safetensors")

        let reference = try await Self.run("read", directory)
        let ours = try Self.vesselManifest(directory)
        #expect(Set(reference.files.keys) == Set(ours.keys))
        for (name, expected) in ours {
            let actual = try #require(reference.files[name])
            #expect(actual.metadata == expected.metadata, "\(name)")
            #expect(actual.tensors == expected.tensors, "\(name)")
        }
    }
}
