import Logging
import NIOCore
import PostgresNIO
import Synchronization
import VesselCore

/// `LISTEN` on a connection of its own (postgres-nio listens on a connection, not through the
/// pool), for as long as it runs: notifications go to `onNotification`; each time the `LISTEN`
/// is in place — the first time and after every reconnect — `onConnected` is called, so whoever
/// waits re-reads what may have changed while no one listened. A lost connection (PostgreSQL
/// restarted, the connection was killed, a ping every 10 s got no answer within 5 s) is
/// reconnected after 250 ms, doubling to 5 s while it keeps failing; failures are logged once
/// per 30 s.
public final class PostgresListener: Sendable {
    let url: PostgresURL
    let channel: String
    let logger: Logger
    let onNotification: @Sendable (String) -> Void
    let onConnected: @Sendable () -> Void
    /// How often the connection is pinged, and how long a ping may take.
    let pingInterval: Duration
    let pingTimeout: Duration

    private struct State {
        var task: Task<Void, Never>?
        /// How many times the `LISTEN` was put in place.
        var connections = 0
        /// The server process of the current connection (`pg_backend_pid()`), for tests that kill it.
        var backendPID: Int32?
        var nextObserver = 0
        var observers: [Int: (count: Int, continuation: CheckedContinuation<Void, Never>)] = [:]
    }

    private let state = Mutex(State())

    public init(url: PostgresURL, channel: String, pingInterval: Duration = .seconds(10), pingTimeout: Duration = .seconds(5), logger: Logger,
                onNotification: @escaping @Sendable (String) -> Void, onConnected: @escaping @Sendable () -> Void) {
        self.url = url
        self.channel = channel
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.logger = logger
        self.onNotification = onNotification
        self.onConnected = onConnected
    }

    public func start() {
        state.withLock { state in
            guard state.task == nil else { return }
            state.task = Task { await self.run() }
        }
    }

    /// Stops listening and closes the connection.
    public func stop() async {
        let task = state.withLock { $0.task }
        task?.cancel()
        await task?.value
        let observers = state.withLock { state in
            defer { state.observers = [:] }
            return state.observers.values.map(\.continuation)
        }
        for observer in observers { observer.resume() }
    }

    /// How many times the `LISTEN` has been put in place so far.
    public var connections: Int { state.withLock { $0.connections } }

    /// The PostgreSQL process serving the current connection, once connected.
    public var backendPID: Int32? { state.withLock { $0.backendPID } }

    /// Returns once the `LISTEN` has been put in place `count` times, the listener stopped or
    /// the task is cancelled.
    public func untilConnected(times count: Int) async {
        let id = state.withLock { state -> Int in
            state.nextObserver += 1
            return state.nextObserver
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.connections >= count || (state.task?.isCancelled ?? false) || Task.isCancelled { return true }
                    state.observers[id] = (count, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.observers.removeValue(forKey: id) }?.continuation.resume()
        }
    }

    private func run() async {
        var failures = 0
        var throttle = LogThrottle(interval: .seconds(30))
        while !Task.isCancelled {
            var connected = false
            do {
                try await listenOnce(connected: &connected)
            } catch {
                if Task.isCancelled { return }
                if let count = throttle.record() {
                    logger.warning("not listening for deployment changes on PostgreSQL at \(url.endpoint) (\(count) failure(s)): \(Self.describe(error)); reconnecting")
                }
            }
            failures = connected ? 1 : failures + 1
            let pause = min(Duration.milliseconds(250) * (1 << min(failures - 1, 5)), .seconds(5))
            try? await Task.sleep(for: pause)
        }
    }

    private func listenOnce(connected: inout Bool) async throws {
        var configuration = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        configuration.options.connectTimeout = TimeAmount(pingTimeout)
        configuration.options.additionalStartupParameters = [("application_name", "vessel-listen")]
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        do {
            var pid: Int32?
            for try await value in try await connection.query("SELECT pg_backend_pid()", logger: logger).decode(Int32.self) { pid = value }
            try await connection.listen(on: channel) { notifications in
                let (count, observers) = state.withLock { state -> (Int, [CheckedContinuation<Void, Never>]) in
                    state.connections += 1
                    state.backendPID = pid
                    let count = state.connections
                    let due = state.observers.filter { $0.value.count <= count }
                    for id in due.keys { state.observers[id] = nil }
                    return (count, due.values.map(\.continuation))
                }
                connected = true
                if count > 1 { logger.info("listening for deployment changes on PostgreSQL at \(url.endpoint) again") }
                onConnected()
                for observer in observers { observer.resume() }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    let onNotification = onNotification
                    group.addTask {
                        for try await notification in notifications { onNotification(notification.payload) }
                        throw PostgresListenerError("the notification stream ended")
                    }
                    group.addTask { try await self.ping(connection) }
                    defer { group.cancelAll() }
                    try await group.next()
                }
            }
        } catch {
            state.withLock { $0.backendPID = nil }
            try? await connection.close()
            throw error
        }
        state.withLock { $0.backendPID = nil }
        try? await connection.close()
    }

    /// Every `pingInterval`, a `SELECT 1` that must answer within `pingTimeout`; throws when
    /// one fails or does not.
    private func ping(_ connection: PostgresConnection) async throws {
        while true {
            try await Task.sleep(for: pingInterval)
            try await withThrowingTaskGroup(of: Bool.self) { group in
                let logger = logger
                group.addTask {
                    _ = try await connection.query("SELECT 1", logger: logger).collect()
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: self.pingTimeout)
                    return false
                }
                defer { group.cancelAll() }
                guard try await group.next() == true else { throw PostgresListenerError("no answer to a ping within \(self.pingTimeout)") }
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError { return PostgresFailure(error).description }
        return "\(error)"
    }
}

struct PostgresListenerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
