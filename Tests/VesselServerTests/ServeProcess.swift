import Foundation
import VesselCore
@testable import VesselClient

#if canImport(Glibc)
import Glibc
#endif

/// A real `vessel serve` process for process-level tests: the `vessel` executable built next
/// to the test bundle, on a free loopback port, with a known admin token.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let dataDir: String
    let log: String

    /// The built `vessel` binary, or nil when it was not built.
    static var executable: String? {
        let bundleDir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let path = bundleDir.appendingPathComponent("vessel").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// Starts the server and waits until it answers (at most 30 s).
    /// - Parameter log: where its output goes (`DIR.log` unless given; replicas sharing a
    ///   directory need their own).
    init(dataDir: String, arguments: [String] = [], log logPath: String? = nil, environment extra: [String: String] = [:]) async throws {
        guard let executable = Self.executable else { throw VesselError.notFound("the vessel executable is not built next to the tests") }
        self.dataDir = dataDir
        self.port = try Self.freePort()
        self.log = logPath ?? "\(dataDir).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--data-dir", dataDir, "--port", String(port), "--log-level", "warning"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["VESSEL_ADMIN_TOKEN"] = APIHarness.adminToken
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        let api = client()
        var ready = false
        for _ in 0..<300 {
            if (try? await api.whoami()) != nil {
                ready = true
                break
            }
            guard process.isRunning else { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        await api.shutdown()
        if ready { return }
        kill(process.processIdentifier, SIGKILL)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw VesselError(.unavailable, "vessel serve did not come up: \(output.suffix(2000))")
    }

    func client() -> APIClient {
        APIClient(config: ClientConfig(server: "http://127.0.0.1:\(port)", token: APIHarness.adminToken))
    }

    /// SIGKILL: no graceful shutdown, no flushing — a crash.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    struct CLIResult: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `vessel ARGS` against `server` as the admin, with no user configuration; the wait
    /// happens on a thread of its own, off Swift's cooperative pool.
    static func runCLI(_ arguments: [String], server: ServeProcess) async throws -> CLIResult {
        guard let executable else { throw VesselError.notFound("the vessel executable is not built next to the tests") }
        let port = server.port
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result<CLIResult, any Error> {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: executable)
                    process.arguments = arguments
                    process.environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "XDG_CONFIG_HOME": "/nonexistent-vessel-config",
                                           "VESSEL_SERVER": "http://127.0.0.1:\(port)", "VESSEL_TOKEN": APIHarness.adminToken]
                    let out = Pipe(), err = Pipe()
                    process.standardOutput = out
                    process.standardError = err
                    process.standardInput = FileHandle.nullDevice
                    try process.run()
                    let stdout = out.fileHandleForReading.readDataToEndOfFile()
                    let stderr = err.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    return CLIResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
                })
            }.start()
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw VesselError.internalError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw VesselError.internalError("bind failed") }
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { throw VesselError.internalError("getsockname failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
