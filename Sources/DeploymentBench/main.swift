// Deployment benchmark (run by scripts/bench_deployments.sh, release build, loopback only):
//  1. long-poll wake-up: WATCHERS (default 100) clients long-polling one deployment's routing
//     document through the HTTP API; CHANGES (default 200) rounds of deploy, advance and
//     rollback; for each rollback, the time from sending it to the moment the last watcher
//     holds the document of the rollback's revision (p50, p99). Every round waits until all
//     watchers hold the latest revision before the next call, so each change is measured on
//     its own. Also the latency of each deploy, advance and rollback call through the API.
//  2. `vessel route` overhead: the router (in this process, as `vessel route` runs it) in front
//     of a plain upstream answering 2 bytes; sequential requests direct and through the
//     router, alternating in rounds (p50, p99 of each, and the difference); then requests per
//     second with CONCURRENCY (default 64) clients for DURATION seconds (default 5), direct and
//     through the router.
//
//   DeploymentBench [CHANGES] [WATCHERS] [--database-url postgres://…]
//   (env SKIP_ROUTER=1 leaves out part 2)
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import VesselClient
import VesselCore
import VesselMetadata
import VesselRouter
import VesselServer

/// `--database-url postgres://…`: metadata in PostgreSQL (a fresh database, dropped afterwards).
let databaseURL: String? = CommandLine.arguments.firstIndex(of: "--database-url").flatMap {
    $0 + 1 < CommandLine.arguments.count ? CommandLine.arguments[$0 + 1] : nil
}
let arguments = CommandLine.arguments.enumerated().filter { index, argument in
    argument != "--database-url" && (index == 0 || CommandLine.arguments[index - 1] != "--database-url")
}.map(\.element)
let changeCount = arguments.count > 1 ? Int(arguments[1]) ?? 200 : 200
let watcherCount = arguments.count > 2 ? Int(arguments[2]) ?? 100 : 100
let environment = ProcessInfo.processInfo.environment
let concurrency = Int(environment["CONCURRENCY"] ?? "") ?? 64
let loadSeconds = Double(environment["DURATION"] ?? "") ?? 5
let logger: Logger = {
    var logger = Logger(label: "bench")
    // Not .error: the long-polls still open when the bench stops its server are cancelled,
    // and each would log a CancellationError.
    logger.logLevel = .critical
    return logger
}()
let adminToken = "vsl_bench-admin"
let model = try ModelName("bench/m")
let env = try AliasName("prod")

func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

let createdDatabase = Mutex<(server: String, name: String)?>(nil)

/// An empty database on the server of `text`; dropped by `dropDatabase()`.
func freshDatabase(_ text: String) async throws -> String {
    let url = try PostgresURL(text)
    let name = PostgresBackend.scratchDatabaseName("vessel_bench")
    let admin = try await PostgresBackend.connect(url: url, maxConnections: 1, logger: logger)
    try await admin.createScratchDatabase(name)
    await admin.shutdown()
    createdDatabase.withLock { $0 = (text, name) }
    return "postgres://\(url.username):\(url.password ?? "")@\(url.host):\(url.port)/\(name)"
}

func dropDatabase() async {
    guard let (server, name) = createdDatabase.withLock({ $0 }), let url = try? PostgresURL(server),
          let admin = try? await PostgresBackend.connect(url: url, maxConnections: 1, logger: logger) else { return }
    try? await admin.dropScratchDatabase(name)
    await admin.shutdown()
}

/// Runs `body` while `service` runs, then cancels it.
func running<T: Sendable>(_ service: some Service, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await service.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}

func millis(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
}

func line(_ label: String, _ values: [Double], unit: String = "ms", scale: Double = 1) -> String {
    String(format: "%@: p50 %.3f %@  p99 %.3f %@  max %.3f %@  (%d samples)", label, percentile(values, 0.5) * scale, unit, percentile(values, 0.99) * scale, unit,
           (values.max() ?? 0) * scale, unit, values.count)
}

// MARK: 1. Long-poll wake-up, and change latency

/// What each watcher holds, and when each watcher first held each revision.
final class Watchers: Sendable {
    private struct State {
        var held: [Int]
        var arrivals: [Int: [ContinuousClock.Instant]] = [:]
    }

    private let state: Mutex<State>

    init(count: Int) { state = Mutex(State(held: [Int](repeating: 0, count: count))) }

    func got(_ watcher: Int, revision: Int) {
        let now = ContinuousClock.now
        state.withLock { state in
            state.held[watcher] = revision
            state.arrivals[revision, default: []].append(now)
        }
    }

    /// Waits until every watcher holds `revision` (or a later one); returns when the last one got it.
    func untilAllHold(_ revision: Int) async throws -> ContinuousClock.Instant {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let last: ContinuousClock.Instant? = state.withLock { state in
                guard state.held.allSatisfy({ $0 >= revision }) else { return nil }
                return state.arrivals[revision]?.max() ?? .now
            }
            if let last { return last }
            guard ContinuousClock.now < deadline else { throw VesselError.internalError("not every watcher got revision \(revision) within 60 s") }
            try await Task.sleep(for: .microseconds(200))
        }
    }
}

/// Long-polls the document until cancelled, recording each revision it gets.
func watch(_ index: Int, client: HTTPClient, base: String, watchers: Watchers) async {
    var after = 0
    while !Task.isCancelled {
        var request = HTTPClientRequest(url: "\(base)/api/v1/models/\(model.owner)/\(model.name)/deployments/\(env)?wait=30&after=\(after)")
        request.headers.add(name: "Authorization", value: "Bearer \(adminToken)")
        do {
            let response = try await client.execute(request, timeout: .seconds(90))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { continue }
            let info = try JSONDecoder().decode(DeploymentInfo.self, from: Data(buffer: body))
            after = info.revision
            watchers.got(index, revision: info.revision)
        } catch {
            if Task.isCancelled { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}

func deploymentChanges(_ registry: Registry, base: String, dir: String) async throws -> String {
    let api = APIClient(config: ClientConfig(server: base, token: adminToken))
    for _ in 0..<100 where (try? await api.whoami()) == nil { try await Task.sleep(for: .milliseconds(50)) }
    for version in 1...2 {
        let folder = "\(dir)/model\(version)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("{\"v\": \(version)}".utf8).write(to: URL(fileURLWithPath: "\(folder)/config.json"))
        _ = try await Pusher(api: api).push(folder: folder, model: model, alias: nil, description: nil)
    }
    _ = try await api.deploy(model, env: env, DeployRequest(version: 1, expectRevision: 0))

    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: watcherCount + 16)
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    let watchers = Watchers(count: watcherCount)
    var wakes: [Double] = [], deploys: [Double] = [], advances: [Double] = [], rollbacks: [Double] = []
    try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<watcherCount { group.addTask { await watch(index, client: client, base: base, watchers: watchers) } }
        defer { group.cancelAll() }
        var revision = try await api.deployment(model, env: env).revision
        _ = try await watchers.untilAllHold(revision)
        for _ in 0..<changeCount {
            var start = ContinuousClock.now
            var result = try await api.deploy(model, env: env, DeployRequest(version: 2, expectRevision: revision))
            deploys.append(millis(start.duration(to: .now)))
            revision = try result.deployment.map(\.revision) ?? { throw VesselError.internalError("deploy: \(result.outcome)") }()
            _ = try await watchers.untilAllHold(revision)

            start = ContinuousClock.now
            result = try await api.advanceDeployment(model, env: env, DeploymentChangeRequest(expectRevision: revision))
            advances.append(millis(start.duration(to: .now)))
            revision = try result.deployment.map(\.revision) ?? { throw VesselError.internalError("advance: \(result.outcome)") }()
            _ = try await watchers.untilAllHold(revision)

            start = ContinuousClock.now
            result = try await api.rollbackDeployment(model, env: env, DeploymentChangeRequest(expectRevision: revision))
            rollbacks.append(millis(start.duration(to: .now)))
            revision = try result.deployment.map(\.revision) ?? { throw VesselError.internalError("rollback: \(result.outcome)") }()
            let last = try await watchers.untilAllHold(revision)
            wakes.append(millis(start.duration(to: last)))
        }
    }
    try await client.shutdown()
    await api.shutdown()
    print(line("rollback sent -> last of \(watcherCount) watchers holds its routes", wakes) + "  (target p99 < 50 ms on SQLite)")
    print(line("deploy through the API", deploys))
    print(line("advance through the API", advances))
    print(line("rollback through the API", rollbacks))
    let all = deploys + advances + rollbacks
    print(line("deploy, advance and rollback together", all) + "  (target p99 < 25 ms)")
    return base
}

// MARK: 2. The router's overhead

func upstreamApplication(port: Int) -> some Service {
    let router = Router()
    router.get("/") { _, _ in "ok" }
    return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
}

func get(_ client: HTTPClient, _ url: String) async throws {
    let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
    _ = try await response.body.collect(upTo: 1 << 16)
    guard response.status == .ok else { throw VesselError.internalError("\(url) answered \(response.status)") }
}

/// Requests completed in `seconds` by `concurrency` clients, one request after another each.
final class Count: Sendable {
    let value = Atomic<Int>(0)
}

func load(_ client: HTTPClient, _ url: String) async throws -> Double {
    let done = Count()
    let end = ContinuousClock.now + .milliseconds(Int64(loadSeconds * 1000))
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                while ContinuousClock.now < end {
                    try await get(client, url)
                    done.value.add(1, ordering: .relaxed)
                }
            }
        }
        try await group.waitForAll()
    }
    return Double(done.value.load(ordering: .relaxed)) / loadSeconds
}

func routerOverhead(registryURL: String) async throws {
    let upstreamPort = freePort(), routerPort = freePort()
    let upstream = "http://127.0.0.1:\(upstreamPort)"
    let config = ClientConfig(server: registryURL, token: adminToken)
    let follow = APIClient(config: config), reports = APIClient(config: config)
    let router = DeploymentRouter(.init(model: model, env: env, host: "127.0.0.1", port: routerPort, upstreams: [.blue: upstream, .green: upstream]),
                                  follow: follow, reports: reports, logger: logger)
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency + 8)
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    let routed = "http://127.0.0.1:\(routerPort)/", direct = upstream + "/"
    try await running(upstreamApplication(port: upstreamPort)) {
        try await running(router.makeApplication()) {
            for _ in 0..<200 where (try? await get(client, routed)) == nil { try await Task.sleep(for: .milliseconds(50)) }
            // Warm both paths (connections, caches) before measuring.
            for _ in 0..<500 {
                try await get(client, direct)
                try await get(client, routed)
            }
            var directTimes: [Double] = [], routedTimes: [Double] = []
            for round in 0..<10 {
                for path in round % 2 == 0 ? [direct, routed] : [routed, direct] {
                    for _ in 0..<500 {
                        let start = ContinuousClock.now
                        try await get(client, path)
                        let elapsed = millis(start.duration(to: .now))
                        if path == direct { directTimes.append(elapsed) } else { routedTimes.append(elapsed) }
                    }
                }
            }
            print(line("direct request", directTimes, unit: "µs", scale: 1000))
            print(line("through vessel route", routedTimes, unit: "µs", scale: 1000))
            print(String(format: "vessel route adds: p50 %+.0f µs  p99 %+.0f µs  (target p50 <= 1 ms)",
                         (percentile(routedTimes, 0.5) - percentile(directTimes, 0.5)) * 1000, (percentile(routedTimes, 0.99) - percentile(directTimes, 0.99)) * 1000))
            let directRate = try await load(client, direct)
            let routedRate = try await load(client, routed)
            print(String(format: "requests per second, %d clients for %.0f s: direct %.0f/s, through vessel route %.0f/s", concurrency, loadSeconds, directRate, routedRate))
        }
    }
    try await client.shutdown()
    await router.shutdown()
    await follow.shutdown()
    await reports.shutdown()
}

// MARK: Main

let port = freePort()
let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-deploy-bench-\(UUID().uuidString)").path
var options = ServerOptions(dataDir: dir, host: "127.0.0.1", port: port, adminToken: adminToken)
options.jobInterval = .seconds(3600)
if let databaseURL { options.databaseURL = try await freshDatabase(databaseURL) }
print("metadata: \(databaseURL == nil ? "embedded SQLite" : "PostgreSQL (a fresh database)"); \(watcherCount) watchers, \(changeCount) rounds of deploy, advance, rollback")
let registry = try await Registry.openEmbedded(options, logger: logger)
let base = "http://127.0.0.1:\(port)"
do {
    try await running(registry.makeApplication(options, logger: logger)) {
        _ = try await deploymentChanges(registry, base: base, dir: dir)
        if environment["SKIP_ROUTER"] != "1" { try await routerOverhead(registryURL: base) }
    }
} catch {
    print("failed: \(error)")
}
await registry.shutdown()
await dropDatabase()
try? FileManager.default.removeItem(atPath: dir)
