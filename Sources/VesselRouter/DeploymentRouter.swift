import AsyncHTTPClient
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import VesselClient
import VesselCore

/// `vessel route` (docs/deployments.md, "The router"): an HTTP reverse proxy in front of a
/// deployment's two pools that
/// - follows the routing document by long-poll (`APIClient.waitForDeployment`), logging every
///   change of the weights, and keeps serving with the last document it read while the
///   registry cannot be reached (transient failures are waited out with backoff by the client's
///   retry policy; anything else is retried every few seconds, for as long as the router runs);
/// - splits requests between the pools by weight, or sends them to the pool a `Vessel-Slot`
///   header pins (`ReverseProxy`);
/// - reports each pool's requests, errors and p99 every `reportInterval` with the version's
///   digest (`deploy report`), so the registry judges the candidate and rolls a failing one
///   back; the reply's deployment is taken at once when it is newer than the document held.
public final class DeploymentRouter: Sendable {
    public struct Configuration: Sendable {
        public var model: ModelName
        public var env: AliasName
        public var host: String
        /// 0: any free port (`onListening` says which).
        public var port: Int
        /// Each pool's upstream base URL.
        public var upstreams: [DeploymentSlot: String]
        public var reportInterval: Duration
        /// How long each long-poll waits (the registry cuts it to 60 s).
        public var pollWait: Duration

        public init(model: ModelName, env: AliasName, host: String, port: Int, upstreams: [DeploymentSlot: String],
                    reportInterval: Duration = .seconds(5), pollWait: Duration = .seconds(30)) {
            self.model = model
            self.env = env
            self.host = host
            self.port = port
            self.upstreams = upstreams.mapValues { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            self.reportInterval = reportInterval
            self.pollWait = pollWait
        }
    }

    public let configuration: Configuration
    public let table = RoutingTable()
    public let stats = PoolStats()
    /// Reads the routing document; its requests may wait out an outage.
    let follow: APIClient
    /// Posts reports; never repeats one (a report sent twice would be counted twice).
    let reports: APIClient
    let http: HTTPClient
    let logger: Logger

    public init(_ configuration: Configuration, follow: APIClient, reports: APIClient, logger: Logger) {
        self.configuration = configuration
        self.follow = follow
        self.reports = reports
        self.logger = logger
        var http = HTTPClient.Configuration()
        http.redirectConfiguration = .disallow
        http.decompression = .disabled
        http.timeout = .init(connect: .seconds(5), read: .seconds(300))
        http.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 512)
        // An upstream that refuses a connection fails its request now (answered 502), instead
        // of the pool retrying it quietly until the connect timeout.
        http.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }

    /// The proxy, the follower and the reporter as one Hummingbird application: run it with
    /// `runService()` (which stops on SIGTERM or SIGINT) or in a `ServiceGroup`.
    public func makeApplication(onListening: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        let proxy = ReverseProxy(table: table, stats: stats, upstreams: configuration.upstreams, http: http)
        return Application(
            responder: proxy,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: [Follower(router: self), Reporter(router: self)],
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// Closes the upstream connections (after the application stopped).
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Takes `info` when it is newer than the plan held, logging the weights when they changed
    /// (before any request is routed by them).
    func apply(_ info: DeploymentInfo, source: String) {
        let plan = RoutePlan(info)
        let label = "\(configuration.model) in \(configuration.env)"
        table.update(plan) { previous in
            if previous?.routes.map(\.weight) != plan.routes.map(\.weight) || previous?.routes.map(\.digest) != plan.routes.map(\.digest) {
                logger.notice("routes of \(label) at revision \(plan.revision) (\(plan.status.rawValue), from \(source)): \(plan.summary)")
            } else {
                logger.info("\(label) at revision \(plan.revision) (\(plan.status.rawValue)): weights unchanged")
            }
        }
    }

    // MARK: Following the document

    struct Follower: Service {
        let router: DeploymentRouter

        func run() async throws {
            await cancelWhenGracefulShutdown { await router.follow() }
        }
    }

    /// Long-polls the document until cancelled (`DeploymentFollower`): a first read at once,
    /// then `wait=&after=` with the revision held; failures are logged (throttled) and asked
    /// again with backoff, for as long as the router runs.
    func follow() async {
        var failures = LogThrottle(interval: .seconds(30))
        var missing = false
        var follower = DeploymentFollower(api: self.follow, model: configuration.model, env: configuration.env)
        follower.pollWait = configuration.pollWait
        await follower.run(held: { table.current?.revision }) { event in
            switch event {
            case .document(let info):
                apply(info, source: "the routing document")
                if missing { logger.notice("\(configuration.model) has a deployment in \(configuration.env) now") }
                missing = false
            case .missing(let error):
                if !missing { logger.warning("\(configuration.model) has no deployment in \(configuration.env) yet: \(error.message); asking again every 2s") }
                missing = true
            case .failed(let error, _):
                if let count = failures.record() {
                    logger.warning("cannot read the routing document of \(configuration.model) in \(configuration.env) (\(count) failure(s)): \(error); serving with \(table.current.map { "revision \($0.revision)" } ?? "nothing yet"), retrying")
                }
            }
        }
    }

    // MARK: Reporting

    struct Reporter: Service {
        let router: DeploymentRouter

        func run() async throws {
            await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try? await Task.sleep(for: router.configuration.reportInterval)
                    await router.report()
                }
            }
            // What the last interval saw, on the way out (bounded: the registry may be away).
            _ = await router.reportWithin(.seconds(2))
        }
    }

    /// Posts every pool's figures since the last report, one report per pool and digest; a
    /// report that fails is dropped, not sent again (it might have been counted).
    func report() async {
        for (key, window) in stats.drain() where window.requests > 0 {
            let request = DeploymentReportRequest(slot: key.slot.rawValue, digest: key.digest, requests: window.requests, errors: window.errors,
                                                  p99Ms: window.latency.quantileMs(0.99))
            do {
                let reply = try await reports.reportDeployment(configuration.model, env: configuration.env, request)
                if let deployment = reply.result.deployment { apply(deployment, source: "a report's reply") }
                if reply.report.rolledBack { logger.warning("the registry rolled the candidate back: \(reply.report.reason ?? "")") }
            } catch {
                logger.warning("could not report \(window.requests) request(s) and \(window.errors) error(s) of pool \(key.slot.rawValue): \(error)")
            }
        }
    }

    /// `report()`, given up after `timeout`. Returns false when it was.
    func reportWithin(_ timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.report()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
