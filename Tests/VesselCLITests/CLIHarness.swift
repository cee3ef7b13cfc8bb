import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `vessel` binary and `vessel serve` processes for end-to-end tests.
enum CLI {
    /// The `vessel` executable next to the test bundle.
    static var binary: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("vessel").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
                throw CLIError("stdout is not a JSON object: \(stdout)")
            }
            return object
        }
    }

    /// Runs `vessel ARGS` with `environment` added to a clean environment (no user config).
    /// The wait happens on a thread of its own: tests run on Swift's cooperative pool, which has
    /// one thread per core, and two tests blocked in `waitUntilExit` there stall every other test.
    static func run(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Swift.Result<CLI.Result, any Error> { try runBlocking(arguments, environment: environment, stdin: stdin) }) }.start()
        }
    }

    private static func runBlocking(_ arguments: [String], environment: [String: String], stdin: String?) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "XDG_CONFIG_HOME": "/nonexistent-vessel-config"]
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self), stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// A loopback port that refuses connections for as long as the returned descriptor stays
    /// open: bound but never listening, so no other process (another test's server) can take
    /// it meanwhile, as it could a port that was merely free a moment ago. Close `fd` when done.
    static func refusingPort() -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A port that was free a moment ago.
    static func freePort() -> Int {
        let (fd, port) = refusingPort()
        close(fd)
        return port
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A `vessel serve` process on a temp data dir with a known admin token.
final class ServerProcess: @unchecked Sendable {
    static let adminToken = "vsl_cli-test-admin"
    let dataDir: String
    let port: Int
    private var process: Process?

    /// Extra `vessel serve` arguments.
    let arguments: [String]

    init(dataDir: String? = nil, arguments: [String] = []) async throws {
        self.arguments = arguments
        self.dataDir = dataDir ?? TempDir.make("vessel-e2e-data")
        self.port = CLI.freePort()
        try await start()
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var env: [String: String] { ["VESSEL_SERVER": url, "VESSEL_TOKEN": Self.adminToken] }

    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["serve", "--data-dir", dataDir, "--port", String(port), "--log-level", "warning"] + arguments
        process.environment = ["VESSEL_ADMIN_TOKEN": Self.adminToken, "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        self.process = process
        for _ in 0..<200 {
            if (try? await CLI.run(["whoami"], environment: env).status) == 0 { return }
            usleep(50_000)
        }
        throw CLIError("vessel serve did not become ready on port \(port)")
    }

    /// SIGKILL: no graceful shutdown.
    func kill() {
        guard let process else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    func stop() {
        guard let process else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    deinit { stop() }
}

/// Temporary folders for the CLI tests, all below one folder per test process that is
/// removed when the process exits: the end-to-end tests write 600 MB models, data dirs and
/// caches, and leaving them behind filled the disk of a machine that runs the suite often.
enum TempDir {
    static let root: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-cli-tests-\(getpid())").path
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TempDir.root) }
        return path
    }()

    static func make(_ prefix: String) -> String {
        let path = (root as NSString).appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `count` deterministic pseudo-random bytes, streamed in 1 MiB chunks.
    static func writeFile(_ path: String, count: Int, seed: UInt64) throws {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw CLIError("cannot create \(path)")
        }
        defer { try? handle.close() }
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var remaining = count
        var chunk = [UInt64](repeating: 0, count: (1 << 20) / 8)
        while remaining > 0 {
            for i in chunk.indices {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                chunk[i] = state ^ (state >> 29)
            }
            let n = min(remaining, 1 << 20)
            chunk.withUnsafeBytes { handle.write(Data($0.prefix(n))) }
            remaining -= n
        }
    }
}
