import ArgumentParser
import Foundation
import Logging
import VesselAgent
import VesselClient
import VesselCore
import VesselSigning

/// `vessel agent MODEL --env ENV --dir DIR` (docs/deployments.md, "The node agent"):
/// `NodeAgent` as a command.
struct Agent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep a folder holding the version a deployment's pool serves: verify, download, switch, report.",
        discussion: """
            Follows the deployment's routing document by long-poll and makes DIR/current (a symlink
            replaced atomically) point at DIR/versions/<digest>/, the version the --slot's pool holds
            (live: whichever pool is live). With --verify-key a version is downloaded only after one of
            its signatures verifies with one of the keys; otherwise it is refused (verification_failed)
            and the version already in place keeps serving. Blobs come through the cache (--cache-dir,
            shareable between agents: each blob is downloaded once). After a switch --on-switch runs
            through /bin/sh -c with VESSEL_MODEL, VESSEL_VERSION, VESSEL_DIGEST and VESSEL_DIR; a non-zero
            exit puts current back (switch_failed). The previous version's folder stays until the next
            switch. --listen answers GET /health/version and /healthz. The state is reported to the
            registry on every change and every 10 s. While the registry cannot be reached the agent keeps
            serving and keeps asking. Stops on SIGTERM or SIGINT.
            With --freeze FILE (or --python PATH, which runs PATH -m pip freeze) and --image REF@sha256:…
            the agent reports its environment, the registry refuses a deploy whose version it does not
            satisfy (unless --force-incompatible), and the agent itself refuses to switch to such a version
            (state incompatible; the version in place keeps serving).
            --once reconciles once and exits: 0 in sync (or the registry is unreachable but the desired
            version of the last contact is in place), 1 verification refused or the switch failed, 3 no
            such deployment, 6 the registry is unreachable and nothing usable is in place.
            """
    )

    @Argument(help: "owner/name") var model: String
    @Option(help: "The environment, e.g. prod-eu.") var env: String
    @Option(help: "The agent's folder: current, versions/, state.json.") var dir: String
    @Option(help: "The pool to follow: live (whichever pool is live), blue or green.") var slot = "live"
    @Option(help: "The content-addressed cache (default: $XDG_CACHE_HOME/vessel or ~/.cache/vessel), shareable between agents.") var cacheDir: String?
    @Option(name: .customLong("verify-key"), help: ArgumentHelp("Require a signature by this PEM public key before downloading (repeatable; default: $VESSEL_VERIFY_KEYS or verify_keys in the config file).", valueName: "pub.pem"))
    var verifyKeys: [String] = []
    @Option(help: ArgumentHelp("Answer GET /health/version and /healthz here.", valueName: "host:port")) var listen: String?
    @Option(help: ArgumentHelp("Serve the cache's verified blobs to other nodes here, as `vessel cache serve` does (docs/peers.md).", valueName: "host:port"))
    var share: String?
    @Option(help: ArgumentHelp("The URL other nodes reach --share at (default: http://HOST:PORT of --share).", valueName: "url")) var advertise: String?
    @Option(help: ArgumentHelp("auto: fetch pieces from peers the registry names, each checked; off: the registry only.", valueName: "auto|off"))
    var peers = "auto"
    @Option(help: "The node's name in the registry (default: the host name).") var node: String?
    @Option(help: ArgumentHelp("Run after each switch (via /bin/sh -c); a non-zero exit puts the previous version back.", valueName: "command"))
    var onSwitch: String?
    @Option(help: ArgumentHelp("The node's Python packages, in `pip freeze` format: reported, and a version whose requirements they fail is refused (incompatible).", valueName: "file"))
    var freeze: String?
    @Option(help: ArgumentHelp("The node's Python: `PATH -m pip freeze` (and its version and platform) instead of --freeze, within 60 s.", valueName: "path"))
    var python: String?
    @Option(help: ArgumentHelp("The serving image, by digest: a version that names another image is refused (incompatible).", valueName: "ref@sha256:…"))
    var image: String?
    @Option(name: .customLong("python-version"), help: "With --freeze: the Python version markers are evaluated for, X.Y or X.Y.Z (default \(MarkerEnvironment.defaultPythonVersion)).")
    var pythonVersion: String?
    @Option(help: "With --freeze: the platform markers are evaluated for: linux, darwin or win32 (default linux).") var platform: String?
    @Flag(help: "Reconcile once and exit (for init containers).") var once = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "notice"
    @OptionGroup var client: RetryingClientOptions

    func validate() throws {
        if freeze != nil && python != nil { throw ValidationError("--freeze and --python exclude each other") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .notice
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: level) }
        let logger = Logger(label: "vessel-agent")
        let json = client.json
        try await Output.run(json: json) {
            let name = try ModelName(model), environment = try DeployOptions.environment(env)
            let nodeSlot = try NodeSlot(parsing: slot)
            let address = try listen.map { try Route.address($0) }
            let nodeName = node ?? Self.hostName
            try NodeName.validate(nodeName)
            let config = try ClientConfig.resolve(serverFlag: client.server)
            let keys = try (verifyKeys.isEmpty ? config.verifyKeys : verifyKeys).map { path in
                TrustedKey(path: path, key: try Pull.loadKeys([path])[0])
            }
            let nodeEnvironment = try await AgentEnvironment.load(freeze: freeze, python: python, image: image, pythonVersion: pythonVersion, platform: platform)
            let notices = RetryNotices()
            // Reads and downloads may be repeated and wait out an outage (--retry-for); a report
            // is not repeated (the next one follows within 10 s).
            let api = APIClient(config: config, retryFor: client.retryFor.duration, onRetry: { if !json { notices.show($0) } })
            let reports = APIClient(config: config)
            do {
                try await Self.run(api: api, reports: reports, model: name, env: environment, slot: nodeSlot, node: nodeName, keys: keys,
                                   address: address, options: self, nodeEnvironment: nodeEnvironment, logger: logger)
            } catch {
                await api.shutdown()
                await reports.shutdown()
                throw error
            }
            await api.shutdown()
            await reports.shutdown()
        }
    }

    static func run(api: APIClient, reports: APIClient, model name: ModelName, env environment: AliasName, slot nodeSlot: NodeSlot, node nodeName: String,
                    keys: [TrustedKey], address: (String, Int)?, options: Agent, nodeEnvironment: NodeEnvironment?, logger: Logger) async throws {
        let json = options.client.json, once = options.once, dir = options.dir
        var configuration = AgentConfiguration(model: name, env: environment, dir: dir, slot: nodeSlot, cacheDir: options.cacheDir ?? BlobCache.defaultRoot(),
                                               verifyKeys: keys, node: nodeName, onSwitch: options.onSwitch)
        configuration.environment = nodeEnvironment
        configuration.peers = try Pull.peerSession(options.peers) != nil
        let reporter: NodeReporter = { report in
            _ = try await reports.reportNode(model: name, env: environment, node: nodeName, report: report)
        }
        let agent = try NodeAgent(configuration, api: api, reporter: reporter, logger: logger, onStatus: { status in
            if json && !once { Output.line(String(decoding: status.json(), as: UTF8.self)) }
        })
        if once {
            let result = await agent.once()
            if json {
                Output.line(String(decoding: result.status.json(), as: UTF8.self))
            } else {
                let status = result.status
                Output.line("\(status.state): \(status.version.map { "version \($0) (\(status.digest?.description ?? ""))" } ?? "nothing") in \(dir)/current\(status.message.map { ": \($0)" } ?? "")")
            }
            if result.exitCode != 0 { throw ExitCode(result.exitCode) }
            return
        }
        do {
            let shared = try options.share.map { text in
                let (host, port) = try Route.address(text)
                let server = try PeerServer(.init(id: Self.peerID(node: nodeName), advertise: options.advertise),
                                            cache: try BlobCache(root: configuration.cacheDir), api: reports, logger: logger)
                return (server: server, host: host, port: port)
            }
            try await agent.run(listen: address, share: shared) { port in
                logger.notice("agent of \(name) in \(environment) (slot \(nodeSlot.rawValue), node \(nodeName)): health on \(address?.0 ?? ""):\(port)")
            }
        } catch {
            throw VesselError(.unavailable, "the agent stopped: \(error)")
        }
    }

    /// The node name as a peer id: lowercase, other characters as '-', at most 63.
    static func peerID(node: String) -> String {
        let mapped = node.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "." || $0 == "_" || $0 == "-" ? $0 : "-" }
        let id = String(mapped.prefix(63)).trimmingCharacters(in: CharacterSet(charactersIn: "._-"))
        return id.isEmpty ? "node" : id
    }

    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
