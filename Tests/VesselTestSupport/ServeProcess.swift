import Foundation
import VesselClient

#if canImport(Glibc)
import Glibc
#endif

/// A `vessel serve` process for process-level tests: the built binary on a free loopback
/// port, with a known admin token, a clean environment and its output in a log file.
///
/// One task drives a server: `start`, `kill` and `stop` are not meant to race.
public final class ServeProcess: @unchecked Sendable {
    public static let adminToken = "vsl_cli-test-admin"
    public let dataDir: String
    public let port: Int
    /// Where its stdout and stderr go (appended to across restarts).
    public let log: String
    /// Extra `vessel serve` arguments.
    public let arguments: [String]
    /// Added to its environment (`PATH` and `VESSEL_ADMIN_TOKEN`), e.g. storage credentials.
    public let environment: [String: String]
    /// With `--tls-cert` among the arguments: how clients check it (the test CA) and the
    /// certificate they present; `url` is then `https://`.
    public let clientTLS: ClientTLS?
    private var process: Process?

    /// Starts the server and waits until it answers.
    /// - Parameters:
    ///   - dataDir: its data folder; a new one under `TempDir` when nil.
    ///   - log: `DATADIR.log` unless given (replicas sharing a data folder need their own).
    public init(dataDir: String? = nil, arguments: [String] = [], log: String? = nil, environment: [String: String] = [:], clientTLS: ClientTLS? = nil) async throws {
        let dataDir = dataDir ?? TempDir.make("vessel-e2e-data")
        self.dataDir = dataDir
        self.arguments = arguments
        self.log = log ?? "\(dataDir).log"
        self.environment = environment
        self.clientTLS = clientTLS
        self.port = CLI.freePort()
        try await start()
    }

    public var url: String { "\(clientTLS == nil ? "http" : "https")://127.0.0.1:\(port)" }

    /// Environment for the `vessel` client, as the admin (with `clientTLS`: its CA and certificate).
    public var env: [String: String] {
        var env = ["VESSEL_SERVER": url, "VESSEL_TOKEN": Self.adminToken]
        env["VESSEL_CA_CERT"] = clientTLS?.caCertPath
        env["VESSEL_CLIENT_CERT"] = clientTLS?.clientCertPath
        env["VESSEL_CLIENT_KEY"] = clientTLS?.clientKeyPath
        return env
    }

    /// An in-process API client as the admin; shut it down after use.
    public func client() -> APIClient {
        APIClient(config: ClientConfig(server: url, token: Self.adminToken, tls: clientTLS ?? ClientTLS()))
    }

    /// `vessel_blob_bytes_served_total` on the server's /metrics: the origin's blob egress.
    public func blobBytesServed() async throws -> Int {
        let text = try await runProcess("/usr/bin/curl", ["-sS", "--max-time", "30", "\(url)/metrics"], environment: ["PATH": "/usr/bin:/bin"], timeLimit: .seconds(60)).stdout
        for line in text.split(separator: "\n") where line.hasPrefix("vessel_blob_bytes_served_total ") {
            return Int(Double(line.split(separator: " ")[1]) ?? -1)
        }
        throw TestFailure("no vessel_blob_bytes_served_total on /metrics: \(text.prefix(500))")
    }

    /// Starts the process (again, after `kill()` or `stop()`: same port, same data) and waits
    /// until it answers, at most 30 s; a server that does not come up is killed and its log
    /// quoted in the error.
    public func start() async throws {
        let executable = try VesselExecutable.require()
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        guard let output = FileHandle(forWritingAtPath: log) else { throw TestFailure("cannot write \(log)") }
        defer { try? output.close() }
        _ = try? output.seekToEnd()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--data-dir", dataDir, "--port", String(port), "--log-level", "warning"] + arguments
        process.environment = ["PATH": "/usr/bin:/bin", "VESSEL_ADMIN_TOKEN": Self.adminToken].merging(environment) { _, new in new }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
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
        kill()
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw TestFailure("vessel serve did not come up on port \(port): \(text.suffix(2000))")
    }

    /// The running process's id; nil before `start` and after `kill()` or `stop()`.
    public var pid: Int32? { process?.processIdentifier }

    /// Sends `signal` (SIGTERM: a graceful shutdown) and returns at once; see `waitForExit`.
    public func signal(_ signal: Int32) {
        guard let process, process.isRunning else { return }
        sendSignal(process.processIdentifier, signal)
    }

    /// How the process ended: `status` is its exit status, or the signal that killed it when
    /// `signalled`.
    public struct Exit: Sendable, Equatable {
        public var status: Int32
        public var signalled: Bool

        public init(status: Int32, signalled: Bool) {
            self.status = status
            self.signalled = signalled
        }
    }

    /// Waits up to `timeout` for the process to exit, checking every 20 ms without holding a
    /// thread; nil when it still runs (or was never started).
    public func waitForExit(timeout: Duration) async -> Exit? {
        guard let process else { return nil }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return Exit(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal)
    }

    /// SIGKILL: no graceful shutdown, no flushing — a crash.
    public func kill() {
        guard let process else { return }
        if process.isRunning { sendSignal(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        self.process = nil
    }

    /// SIGTERM, and waits for the graceful shutdown — at most `stopLimit`: a server whose
    /// shutdown hangs is killed and said so on stderr, rather than holding the test run for ever.
    public func stop() {
        guard let process else { return }
        if process.isRunning {
            process.terminate()
            let deadline = ContinuousClock.now + Self.stopLimit
            while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
            if process.isRunning {
                FileHandle.standardError.write(Data("vessel serve (pid \(process.processIdentifier), port \(port)) did not stop within \(Self.stopLimit) of SIGTERM; killed. Its log: \(log)\n".utf8))
                sendSignal(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
        }
        self.process = nil
    }

    /// How long `stop()` waits for a graceful shutdown: the server gives itself
    /// `--shutdown-timeout` (25 s) and exits at most 15 s later on its own.
    public static let stopLimit: Duration = .seconds(60)

    deinit { stop() }
}

/// `kill(2)`, out of reach of `ServeProcess.kill()`.
private func sendSignal(_ pid: Int32, _ signal: Int32) { _ = kill(pid, signal) }
