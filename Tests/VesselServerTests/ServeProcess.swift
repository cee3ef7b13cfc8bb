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
    init(dataDir: String, arguments: [String] = [], log logPath: String? = nil) async throws {
        guard let executable = Self.executable else { throw VesselError.notFound("the vessel executable is not built next to the tests") }
        self.dataDir = dataDir
        self.port = try Self.freePort()
        self.log = logPath ?? "\(dataDir).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--data-dir", dataDir, "--port", String(port), "--log-level", "warning"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["VESSEL_ADMIN_TOKEN"] = APIHarness.adminToken
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
