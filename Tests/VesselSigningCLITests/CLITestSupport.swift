import Crypto
import Foundation
import Testing

/// The built `vessel` binary, run as a process with its own config and cache folders.
enum VesselBinary {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Next to the test bundle (`.build/<config>/`), else `.build/debug/vessel`.
    static var path: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vessel").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return packageRoot.appendingPathComponent(".build/debug/vessel").path
    }

    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String

        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
                throw TestFailure("stdout is not a JSON object: \(stdout)")
            }
            return object
        }

        /// `{"error": {"code", "message"}}` on stdout.
        func errorCode() throws -> String? {
            (try json()["error"] as? [String: Any])?["code"] as? String
        }
    }

    static func run(_ arguments: [String], environment extra: [String: String] = [:], home: URL) async throws -> Result {
        try await runProcess(path, arguments, environment: environment(home: home).merging(extra) { _, new in new })
    }

    /// A clean client environment: config and cache under `home`, no inherited Vessel settings.
    static func environment(home: URL) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VESSEL_") }
        env["XDG_CONFIG_HOME"] = home.appendingPathComponent("config").path
        env["XDG_CACHE_HOME"] = home.appendingPathComponent("cache").path
        env["HOME"] = home.path
        return env
    }
}

/// Runs a process without blocking a thread of the cooperative pool; output goes to files so
/// a chatty process never blocks on a full pipe.
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) async throws -> VesselBinary.Result {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-proc-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardOutput = outHandle
    process.standardError = errHandle
    process.standardInput = FileHandle.nullDevice
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch { continuation.resume(throwing: error) }
    }
    try outHandle.close()
    try errHandle.close()
    return VesselBinary.Result(
        status: status,
        stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
        stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self)
    )
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

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

    static func modelSigning(_ arguments: [String]) async throws -> VesselBinary.Result {
        let python = python ?? "python3"
        let script = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("model_signing").path
        if FileManager.default.isExecutableFile(atPath: script) { return try await runProcess(script, arguments) }
        return try await runProcess(python, ["-m", "model_signing"] + arguments)
    }
}
