import Crypto
import Foundation
import Testing
import VesselTestSupport

/// A temporary folder, removed by `cleanup()`.
struct Workspace {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-signcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    func cleanup() { try? FileManager.default.removeItem(at: root) }

    func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    func path(_ relative: String) -> String { url(relative).path }

    /// Writes `files` (relative path → bytes) under `relative`.
    @discardableResult
    func writeModel(_ relative: String, _ files: [String: [UInt8]]) throws -> String {
        let base = url(relative)
        for (path, bytes) in files {
            let file = base.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: file)
        }
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        return base.path
    }

    /// A new P-256 key pair as PEM files `<name>.pem` and `<name>.pub.pem`.
    func keyPair(_ name: String) throws -> (privateKey: String, publicKey: String) {
        let key = P256.Signing.PrivateKey()
        let privatePath = path("\(name).pem"), publicPath = path("\(name).pub.pem")
        try Data(key.pemRepresentation.utf8).write(to: URL(fileURLWithPath: privatePath))
        try Data((key.publicKey.pemRepresentation + "\n").utf8).write(to: URL(fileURLWithPath: publicPath))
        return (privatePath, publicPath)
    }

    /// Every file under `relative` with its bytes (for "left untouched" checks).
    func snapshot(_ relative: String) throws -> [String: Data] {
        let base = url(relative)
        var out: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(atPath: base.path) else { return out }
        while let item = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            let full = base.appendingPathComponent(item).path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue {
                out[item] = FileManager.default.contents(atPath: full)
            }
        }
        return out
    }
}

/// The model folder these tests sign: nested files, an empty file, and names whose
/// model-signing order differs from plain byte order.
enum SampleModel {
    static let files: [String: [UInt8]] = [
        "config.json": Array(#"{"hidden_size": 8}"#.utf8),
        // Plain data: these tests are about signatures, not formats (a fake .safetensors would be quarantined).
        "weights/model.dat": (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) },
        "empty": [],
        "tok.json": [5],
        "tok/v.txt": [6],
    ]
}

/// `VESSEL_TEST_PYTHON`: a python with `model-signing==1.1.1` (scripts/test sets it).
enum PythonPeer {
    static var python: String? {
        guard let value = ProcessInfo.processInfo.environment["VESSEL_TEST_PYTHON"], !value.isEmpty else { return nil }
        return value
    }

    static func modelSigning(_ arguments: [String]) async throws -> ProcessResult {
        let python = python ?? "python3"
        let script = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("model_signing").path
        if FileManager.default.isExecutableFile(atPath: script) { return try await runProcess(script, arguments) }
        return try await runProcess(python, ["-m", "model_signing"] + arguments)
    }
}
