import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster that a test may crash and restart: `scripts/services.sh
/// start-postgres` on a free loopback port with its state under a folder of its own, never the
/// shared instance (port 54329) the other suites use.
///
/// It runs with `synchronous_commit=on` (a commit is acknowledged once its WAL is written, so a
/// crash loses no acknowledged transaction) and `fsync=off` (only an OS crash could lose data,
/// and it keeps the cluster fast); `settings` adds or overrides settings. `crash()` is
/// `pg_ctl -m immediate stop` keeping the data; `resume()` starts it again on the same port.
///
///     @Suite(.enabled(if: DisposablePostgres.isAvailable, Comment(rawValue: DisposablePostgres.requirement)))
///     …
///     try await DisposablePostgres.with { pg in
///         let serve = try await ServeProcess(arguments: ["--database", pg.url])
///         try await pg.crash()
///         …
///     }
///
/// One task drives a cluster: `crash`, `resume` and `stop` are not meant to race.
public final class DisposablePostgres: @unchecked Sendable {
    /// Whether a private cluster can run here: PostgreSQL's binaries are installed (scripts/test
    /// installs them when it starts the shared instance for `VESSEL_TEST_POSTGRES_URL`) and the
    /// tests run as root (the script starts the server as the `postgres` user with `runuser`).
    public static let isAvailable: Bool = {
        guard getuid() == 0 else { return false }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        return versions.contains { FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/initdb") }
    }()

    /// Why a suite gated on `isAvailable` is skipped (and fails CI): `Comment(rawValue:)` of it.
    public static let requirement =
        "needs PostgreSQL installed (scripts/services.sh start-postgres installs it) and root, for a private cluster"

    /// Its port on 127.0.0.1.
    public let port: Int
    /// The folder its data, log and socket live under (`VESSEL_SERVICES_DIR` of the script).
    public let directory: String
    private let settings: [String: String]
    private var removed = false

    /// `postgres://vessel:vessel@127.0.0.1:PORT/vessel`: the role `vessel` owns the database
    /// `vessel` and may create more.
    public var url: String { "postgres://vessel:vessel@127.0.0.1:\(port)/vessel" }

    /// The server's log file (appended to across crashes), for a failure's message.
    public var logPath: String { "\(directory)/postgres-\(port)/log" }

    /// Initializes and starts a cluster (about a second; tries three free ports in case one was
    /// taken meanwhile).
    /// - Parameter settings: PostgreSQL settings on top of the defaults, e.g. `["synchronous_commit": "off"]`.
    public init(settings: [String: String] = [:]) async throws {
        var settings = settings
        if settings["synchronous_commit"] == nil { settings["synchronous_commit"] = "on" }
        if settings["max_connections"] == nil { settings["max_connections"] = "100" }
        self.settings = settings
        // A short path: the socket's path must fit in 107 bytes. Traversable by `postgres`.
        let directory = "/tmp/vessel-pg-\(UUID().uuidString.prefix(12).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        self.directory = directory
        var lastError = ""
        for _ in 0..<3 {
            let port = CLI.freePort()
            let result = try await Self.script("start-postgres", directory: directory, port: port, settings: settings)
            if result.status == 0 {
                self.port = port
                return
            }
            lastError = result.stderr
            _ = try? await Self.script("stop-postgres", directory: directory, port: port, settings: settings)
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw TestFailure("a private PostgreSQL did not start: \(lastError)")
    }

    /// Runs `body` with a new cluster and stops the cluster afterwards, whether `body` threw or not.
    public static func with<T>(settings: [String: String] = [:], _ body: (DisposablePostgres) async throws -> T) async throws -> T {
        let pg = try await DisposablePostgres(settings: settings)
        do {
            let value = try await body(pg)
            try await pg.stop()
            return value
        } catch {
            try? await pg.stop()
            throw error
        }
    }

    /// Stops the server at once (`pg_ctl -m immediate stop`): no checkpoint, connections cut,
    /// the data kept for `resume()`. Returns once the server has exited.
    public func crash() async throws {
        try await run("crash-postgres")
    }

    /// Starts the server again on the same port and data; returns once it accepts connections
    /// (crash recovery done). Does nothing when it runs.
    public func resume() async throws {
        try await run("resume-postgres")
    }

    /// Stops the server and removes its folder. Safe to call twice.
    public func stop() async throws {
        guard !removed else { return }
        try await run("stop-postgres")
        removed = true
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `sql` as the superuser over the cluster's socket; returns psql's unaligned,
    /// tuples-only output, e.g. `try await pg.psql("SHOW fsync")` is `"off\n"`.
    public func psql(_ sql: String, database: String = "vessel") async throws -> String {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.sorted(by: { $0.compare($1, options: .numeric) == .orderedAscending }).last else {
            throw TestFailure("PostgreSQL is not installed")
        }
        let result = try await runProcess("/usr/sbin/runuser", [
            "-u", "postgres", "--", "/usr/lib/postgresql/\(version)/bin/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
            "-h", "\(directory)/postgres-\(port)", "-p", String(port), "-U", "postgres", "-d", database, "-c", sql,
        ], environment: ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin"])
        guard result.status == 0 else { throw TestFailure("psql \(sql): \(result.stderr)") }
        return result.stdout
    }

    private func run(_ command: String) async throws {
        let result = try await Self.script(command, directory: directory, port: port, settings: settings)
        guard result.status == 0 else { throw TestFailure("scripts/services.sh \(command) failed: \(result.stderr)") }
    }

    private static func script(_ command: String, directory: String, port: Int, settings: [String: String]) async throws -> ProcessResult {
        try await runProcess("/bin/bash", [script, command], environment: environment(directory: directory, port: port, settings: settings))
    }

    private static var script: String { CLI.packageRoot.appendingPathComponent("scripts/services.sh").path }

    private static func environment(directory: String, port: Int, settings: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VESSEL_") }
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        env["VESSEL_SERVICES_DIR"] = directory
        env["VESSEL_PG_PORT"] = String(port)
        env["VESSEL_PG_SETTINGS"] = settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return env
    }

    /// A cluster nobody stopped (a test that threw past its `stop()`) is stopped here, blocking:
    /// a leftover postmaster would hold its port and memory for the rest of the run.
    deinit {
        guard !removed else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.script, "stop-postgres"]
        process.environment = Self.environment(directory: directory, port: port, settings: settings)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        if (try? process.run()) != nil { process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
