import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `vessel` binary as a user would, through `runProcess`.
public enum CLI {
    /// The `vessel` executable (`VesselExecutable.path`; where it would be when not built, so
    /// running it fails with "not found").
    public static var binary: String { VesselExecutable.path ?? "/nonexistent/vessel" }

    /// The package's root folder, for scripts the tests run.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    public typealias Result = ProcessResult

    /// Runs `vessel ARGS` with `environment` added to a clean environment: no user config,
    /// nothing inherited from the tests.
    public static func run(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) async throws -> Result {
        var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "XDG_CONFIG_HOME": "/nonexistent-vessel-config"]
        for (key, value) in environment { env[key] = value }
        return try await runProcess(binary, arguments, environment: env, stdin: stdin)
    }

    /// Runs `vessel ARGS` with its config and cache under `home`: the tests' environment
    /// without any `VESSEL_` setting, then `environment` on top.
    public static func run(_ arguments: [String], environment extra: [String: String] = [:], home: URL) async throws -> Result {
        try await runProcess(binary, arguments, environment: environment(home: home).merging(extra) { _, new in new })
    }

    /// A client environment with config and cache under `home` and no inherited Vessel settings.
    public static func environment(home: URL) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VESSEL_") }
        env["XDG_CONFIG_HOME"] = home.appendingPathComponent("config").path
        env["XDG_CACHE_HOME"] = home.appendingPathComponent("cache").path
        env["HOME"] = home.path
        return env
    }

    /// A loopback port that refuses connections for as long as the returned descriptor stays
    /// open: bound but never listening, so no other process (another test's server) can take
    /// it meanwhile, as it could a port that was merely free a moment ago. Close `fd` when done.
    public static func refusingPort() -> (fd: Int32, port: Int) {
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
    public static func freePort() -> Int {
        let (fd, port) = refusingPort()
        close(fd)
        return port
    }
}
