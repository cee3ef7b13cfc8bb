import ArgumentParser
import Foundation
import Hummingbird
import Logging
import VesselClient
import VesselCore
import VesselRouter

/// `vessel route MODEL --env ENV --listen HOST:PORT --upstream blue=URL --upstream green=URL`
/// (docs/deployments.md, "The router"): `DeploymentRouter` as a command.
struct Route: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Route HTTP traffic between a deployment's blue and green pools by its weights, and report what each pool serves.",
        discussion: """
            Follows the deployment's routing document by long-poll and splits requests between the two
            upstreams by weight; a request with the header `Vessel-Slot: blue|green` goes to that pool
            whatever its weight (smoke tests). Every --report-interval it reports each pool's requests,
            errors (5xx answers, and upstream failures, which it answers 502) and p99 latency to the
            registry (`vessel deploy report`, with the pool's digest), so a failing canary is rolled back
            by the registry's --max-error-rate and --max-p99-ms rules, after which every request goes to
            the live pool again. Answers carry `Vessel-Slot` (the pool that served) and `Vessel-Revision`.
            While the registry cannot be reached it keeps routing by the last document it read, and keeps
            asking. Needs a token with the contributor role on the model (reports). Stops on SIGTERM or SIGINT.
            """
    )

    @Argument(help: "owner/name") var model: String
    @Option(help: "The environment, e.g. prod-eu.") var env: String
    @Option(help: ArgumentHelp("Where to accept requests.", valueName: "host:port")) var listen = "127.0.0.1:8080"
    @Option(name: .customLong("upstream"), help: ArgumentHelp("A pool's server: blue=URL and green=URL, both required.", valueName: "pool=url"))
    var upstreams: [String] = []
    @Option(help: "Report each pool's figures this often, e.g. 5s or 500ms.") var reportInterval = "5s"
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"
    @OptionGroup var client: RetryingClientOptions

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: level) }
        let logger = Logger(label: "vessel-route")
        try await Output.run(json: false) {
            let name = try ModelName(model), environment = try DeployOptions.environment(env)
            let (host, port) = try Self.address(listen)
            let interval = try Self.interval(reportInterval)
            let pools = try Self.upstreams(upstreams)
            let config = try client.connection.config()
            let notices = RetryNotices()
            // Reading the document may be repeated, and waits out an outage; a report may not.
            let follow = APIClient(config: config, retryFor: client.retryFor.duration, onRetry: { notices.show($0) })
            let reports = APIClient(config: config)
            let router = DeploymentRouter(.init(model: name, env: environment, host: host, port: port, upstreams: pools, reportInterval: interval),
                                          follow: follow, reports: reports, logger: logger)
            let app = router.makeApplication { bound in
                logger.notice("routing \(name) in \(environment) on \(host):\(bound): blue → \(pools[.blue] ?? ""), green → \(pools[.green] ?? "")")
            }
            do {
                try await app.runService()
            } catch {
                await router.shutdown()
                await follow.shutdown()
                await reports.shutdown()
                throw VesselError(.unavailable, "the router stopped: \(error)")
            }
            await router.shutdown()
            await follow.shutdown()
            await reports.shutdown()
        }
    }

    /// `HOST:PORT` (`[::1]:8080` for IPv6).
    static func address(_ text: String) throws(VesselError) -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw .invalidArgument("--listen '\(text)' must be HOST:PORT, e.g. 127.0.0.1:8080")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw .invalidArgument("--listen '\(text)' names no host, e.g. 0.0.0.0:8080") }
        return (host, port)
    }

    /// `blue=URL` and `green=URL`, each once.
    static func upstreams(_ values: [String]) throws(VesselError) -> [DeploymentSlot: String] {
        var pools: [DeploymentSlot: String] = [:]
        for value in values {
            guard let equals = value.firstIndex(of: "=") else { throw .invalidArgument("--upstream '\(value)' must be blue=URL or green=URL") }
            let slot = try DeploymentSlot(parsing: String(value[..<equals]))
            let url = String(value[value.index(after: equals)...])
            guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil, parsed.query == nil else {
                throw .invalidArgument("--upstream \(slot.rawValue)=\(url): the URL must be http(s)://host[:port][/path]")
            }
            guard pools[slot] == nil else { throw .invalidArgument("--upstream \(slot.rawValue) is given twice") }
            pools[slot] = url
        }
        guard pools.count == 2 else { throw .invalidArgument("give both pools' servers: --upstream blue=URL --upstream green=URL") }
        return pools
    }

    /// `5s`, `1m`, `500ms`.
    static func interval(_ text: String) throws(VesselError) -> Duration {
        if text.hasSuffix("ms"), let millis = Int64(text.dropLast(2)), millis > 0 { return .milliseconds(millis) }
        return .seconds(try Timestamp.parseDuration(text))
    }
}
