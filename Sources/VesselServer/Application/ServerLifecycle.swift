import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import VesselCore
import VesselMetadata

#if canImport(Glibc)
import Glibc
#endif

/// How `vessel serve` starts and stops, whether its backends answer or not
/// (docs/decisions/0015-shutdown-and-startup.md).
///
/// - **Start-up** (`open`): opening the registry fails with `unavailable` while the database
///   cannot be reached; it is retried with backoff for up to `--startup-timeout`, logged at most
///   every 5 s, then the start fails with `unavailable` (exit 6) naming the database and the last
///   error. On PostgreSQL the durability settings are read and a risky one is logged and counted.
/// - **Shutdown** (`run`): the first SIGTERM or SIGINT starts ServiceLifecycle's graceful
///   shutdown: the HTTP server stops accepting, open long-polls answer (`ShutdownSignal`),
///   requests in flight may finish for up to `--shutdown-timeout`, then everything left is
///   cancelled; background jobs and webhook delivery stop, releasing their leases if the
///   database answers within 2 s (else the leases expire), and the backends are closed, again
///   for at most a few seconds. A second SIGTERM or SIGINT exits at once with 128 + the signal.
///   Should anything still hang `hardStopMargin` after the timeout, the process exits 1 saying so.
///   A signal before the server is up (a start-up waiting for the database) exits at once.
public final class ServerLifecycle: Sendable {
    /// After `--shutdown-timeout`, what is left (cancelled jobs, lease releases, closing the
    /// pools) gets this long before the process exits regardless.
    public static let hardStopMargin: Duration = .seconds(15)
    /// Closing the backends after the services stopped gets at most this long.
    static let closeTimeout: Duration = .seconds(5)

    let options: ServerOptions
    let logger: Logger
    private let signals: ProcessSignals

    /// Takes over SIGTERM and SIGINT for the process (one per process).
    public init(options: ServerOptions, logger: Logger) {
        self.options = options
        self.logger = logger
        self.signals = ProcessSignals.install(logger: logger)
    }

    /// Opens the registry (`Registry.openEmbedded`), retrying while a backend is `unavailable`
    /// for up to `options.startupTimeout`; then checks PostgreSQL's durability settings.
    /// - Throws: `unavailable` naming the database and the last error once the time is up; any
    ///   other error of the first failing attempt at once.
    public func open() async throws -> Registry {
        let registry = try await Self.openRetrying(options, logger: logger) { options, logger in
            try await Registry.openEmbedded(options, logger: logger)
        }
        await Self.checkDurability(registry, logger: logger)
        return registry
    }

    /// Serves until a signal, then shuts down as described above and closes the registry.
    public func run(_ registry: Registry) async throws {
        let app = registry.makeApplication(options, logger: logger)
        var configuration = ServiceGroupConfiguration(services: [.init(service: app)], logger: logger)
        // The signals are ours (a second one must exit at once, which ServiceLifecycle does not do).
        configuration.gracefulShutdownSignals = []
        configuration.cancellationSignals = []
        configuration.maximumGracefulShutdownDuration = options.shutdownTimeout
        let group = ServiceGroup(configuration: configuration)
        let timeout = options.shutdownTimeout, logger = logger
        signals.serving { signal in
            logger.notice("shutting down (\(ProcessSignals.name(signal))): no new connections; requests in flight have up to \(Self.text(timeout)); a second SIGTERM or SIGINT exits at once")
            Task { await group.triggerGracefulShutdown() }
            ProcessSignals.exit(after: timeout + Self.hardStopMargin, status: 1,
                                "the shutdown did not finish within \(Self.text(timeout)) + \(Self.text(Self.hardStopMargin)); exiting", logger: logger)
        }
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        let requested = signals.stopping
        if !(await bestEffort(within: Self.closeTimeout, { await registry.shutdown() })) {
            logger.warning("closing the database and storage connections took over \(Self.text(Self.closeTimeout)); exiting without waiting")
        }
        if let failure, !requested {
            throw VesselError(.unavailable, "the server stopped: \(failure)")
        }
        logger.notice("vessel stopped")
    }

    /// The start-up retry loop, apart from what it opens (tests pass a stand-in).
    static func openRetrying<T>(_ options: ServerOptions, logger: Logger, clock: ContinuousClock = .init(),
                                _ attempt: (ServerOptions, Logger) async throws -> T) async throws -> T {
        let started = clock.now
        let deadline = started + options.startupTimeout
        var delay: Duration = .milliseconds(250)
        var attempts = 0
        var lastLogged: ContinuousClock.Instant?
        while true {
            attempts += 1
            do {
                let value = try await attempt(options, logger)
                if attempts > 1 { logger.notice("the database answered after \(attempts) attempts (\(Self.text(started.duration(to: clock.now))))") }
                return value
            } catch let error as VesselError where error.code == .unavailable {
                let now = clock.now
                guard now < deadline else {
                    throw VesselError(.unavailable, "\(databaseName(options)) could not be reached within \(Self.text(options.startupTimeout)) (--startup-timeout; \(attempts) attempt\(attempts == 1 ? "" : "s")); last error: \(error.message)")
                }
                if lastLogged.map({ $0.duration(to: now) >= .seconds(5) }) ?? true {
                    lastLogged = now
                    logger.warning("waiting for \(databaseName(options)) (attempt \(attempts), retrying until --startup-timeout \(Self.text(options.startupTimeout)) has passed)", metadata: ["error": "\(error.message)"])
                }
                // Backoff with jitter, never past the deadline (the last attempt is made at it).
                let pause = min(delay * Double.random(in: 0.5...1), now.duration(to: deadline))
                try await Task.sleep(for: pause)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// `25s`, `1.5s`: as `--shutdown-timeout` is written.
    static func text(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds)s" }
        return String(format: "%.1fs", Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// "PostgreSQL at postgres://user@host:port/db" (no password), or the SQLite file.
    static func databaseName(_ options: ServerOptions) -> String {
        guard let text = options.databaseURL else { return "the database \(options.dataDir)/metadata.sqlite" }
        return "the database PostgreSQL at \((try? PostgresURL(text))?.redacted ?? "the --database URL")"
    }

    /// On PostgreSQL: reads `synchronous_commit` and `fsync`, sets
    /// `vessel_database_durability_risk{setting}` and warns when either is off.
    static func checkDurability(_ registry: Registry, logger: Logger) async {
        guard let postgres = registry.backend as? PostgresBackend else { return }
        let durability: DatabaseDurability
        do {
            durability = try await postgres.durability()
        } catch {
            logger.warning("could not read PostgreSQL's synchronous_commit and fsync settings: \(error)")
            return
        }
        registry.metrics.databaseDurability(setting: "synchronous_commit", risky: durability.synchronousCommit == "off")
        registry.metrics.databaseDurability(setting: "fsync", risky: durability.fsync == "off")
        let risks = durability.risks
        guard !risks.isEmpty else { return }
        logger.warning("PostgreSQL runs with \(risks.map { "\($0)=off" }.joined(separator: " and ")): a crash of the database server can lose versions, alias moves and audit entries it already acknowledged, and a lost version's number can later be given to other content; set them on for production (README, PostgreSQL)")
    }
}

/// SIGTERM and SIGINT for the whole process: a C handler writes the signal's number to a pipe,
/// and a thread of its own acts on it, so no signal is lost to a thread that is busy, and the
/// second one exits even if every task is stuck.
final class ProcessSignals: @unchecked Sendable {
    private enum Phase {
        /// Before the server runs: a signal exits at once.
        case starting
        /// Serving: the first signal calls this.
        case serving(@Sendable (Int32) -> Void)
        /// A signal arrived while serving: the next one exits at once.
        case stopping
    }

    private let lock = NSLock()
    private var phase = Phase.starting
    private let logger: Logger
    nonisolated(unsafe) private static var installed: ProcessSignals?
    private static let installLock = NSLock()

    private init(logger: Logger) {
        self.logger = logger
    }

    /// The process's one instance; the handlers are installed on the first call.
    static func install(logger: Logger) -> ProcessSignals {
        installLock.lock()
        defer { installLock.unlock() }
        if let installed { return installed }
        let signals = ProcessSignals(logger: logger)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            logger.warning("could not set up signal handling (pipe: \(String(cString: strerror(errno)))); SIGTERM ends the process at once")
            installed = signals
            return signals
        }
        signalPipeWriteEnd = fds[1]
        let reader = fds[0]
        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                let count = read(reader, &byte, 1)
                if count == 1 { signals.received(Int32(byte)) } else if count < 0 && errno != EINTR { return }
            }
        }
        thread.name = "vessel-signals"
        thread.start()
        for number in [SIGTERM, SIGINT] {
            _ = signal(number) { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipeWriteEnd, &byte, 1)
            }
        }
        installed = signals
        return signals
    }

    /// Hands the first signal to `onFirst` from now on.
    func serving(_ onFirst: @escaping @Sendable (Int32) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        if case .starting = phase { phase = .serving(onFirst) }
    }

    /// Whether a signal has asked the server to stop.
    var stopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        if case .stopping = phase { return true }
        return false
    }

    private func received(_ signal: Int32) {
        lock.lock()
        let phase = phase
        if case .serving = phase { self.phase = .stopping }
        lock.unlock()
        switch phase {
        case .starting:
            logger.notice("\(Self.name(signal)) before the server was up: exiting")
            Self.exitNow(128 + signal)
        case .serving(let onFirst):
            onFirst(signal)
        case .stopping:
            logger.notice("\(Self.name(signal)) again: exiting at once")
            Self.exitNow(128 + signal)
        }
    }

    /// Exits with `status` after `delay` unless the process has ended by then, logging `message`.
    static func exit(after delay: Duration, status: Int32, _ message: String, logger: Logger) {
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        let thread = Thread {
            Thread.sleep(forTimeInterval: seconds)
            logger.error("\(message)")
            exitNow(status)
        }
        thread.name = "vessel-shutdown-watchdog"
        thread.start()
    }

    /// `_exit`: no atexit handlers or destructors, which could wait on the threads still stuck.
    static func exitNow(_ status: Int32) -> Never {
        _exit(status)
    }

    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        default: "signal \(signal)"
        }
    }
}

/// The pipe's write end, read by the C signal handler (set once, before the handlers).
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1
