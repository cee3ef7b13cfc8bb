import Crypto
import Foundation
@testable import VesselSigning

/// Helpers shared by the tests: temporary folders, a tiny folder hasher (the
/// real walker lives in the Manifest module of the main repository) and a
/// subprocess runner for the openssl / model_signing / SoftHSM tools.
enum TestSupport {
    struct ProcessResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// One folder per test process for every temporary folder, removed when the process exits.
    static let temporaryRoot: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-signing-tests-\(getpid())", isDirectory: true)
        try? FileManager.default.removeItem(at: url)
        atexit { try? FileManager.default.removeItem(at: TestSupport.temporaryRoot) }
        return url
    }()

    static func makeTemporaryDirectory() throws -> URL {
        let url = temporaryRoot.appendingPathComponent(UUID().uuidString, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs `executable` with `arguments`; `environment` entries are added to this process's environment.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain stderr on another thread while reading stdout, so neither pipe can fill up and block the child.
        let stderrBox = DataBox()
        let reader = Thread { stderrBox.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = stderrBox.waitForValue()
        process.waitUntilExit()
        return ProcessResult(
            status: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }

    /// The first existing executable called `name` on PATH, or `nil`.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Writes `files` (relative path → content) under `root`.
    static func writeModel(_ files: [String: [UInt8]], at root: URL) throws {
        for (path, content) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(content).write(to: url)
        }
    }

    /// Regular files under `root` as resources, skipping model-signing's git paths and `ignoring` (relative paths).
    static func hashFolder(_ root: URL, ignoring: Set<String> = []) throws -> [SignedResource] {
        let skipped = Set(BundleFormat.defaultIgnorePaths).union(ignoring)
        var resources: [SignedResource] = []
        func walk(_ directory: URL, prefix: String) throws {
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
                let relative = prefix.isEmpty ? name : "\(prefix)/\(name)"
                if skipped.contains(relative) { continue }
                let url = directory.appendingPathComponent(name)
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
                if isDirectory.boolValue {
                    try walk(url, prefix: relative)
                } else {
                    let data = try Data(contentsOf: url)
                    resources.append(SignedResource(path: relative, sha256: Array(SHA256.hash(data: data))))
                }
            }
        }
        try walk(root, prefix: "")
        return SignedResource.sortedInModelSigningOrder(resources)
    }

    static func resource(_ path: String, _ content: String) -> SignedResource {
        SignedResource(path: path, sha256: Array(SHA256.hash(data: Array(content.utf8))))
    }

    /// Decodes a bundle, lets `edit` change its JSON object, and re-encodes it (for negative tests).
    static func editBundle(_ bundle: [UInt8], _ edit: (inout [String: Any]) throws -> Void) throws -> [UInt8] {
        guard var object = try JSONSerialization.jsonObject(with: Data(bundle)) as? [String: Any] else {
            throw CocoaError(.coderInvalidValue)
        }
        try edit(&object)
        return Array(try JSONSerialization.data(withJSONObject: object))
    }

    /// The decoded DSSE payload of a bundle.
    static func payload(of bundle: [UInt8]) throws -> [UInt8] {
        let envelope = try BundleEnvelope.parse(bundle)
        return envelope.payload
    }
}

/// A one-shot value handed from a reader thread to the test.
final class DataBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Data?

    func set(_ data: Data) {
        condition.lock()
        value = data
        condition.signal()
        condition.unlock()
    }

    func waitForValue() -> Data {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value ?? Data()
    }
}
