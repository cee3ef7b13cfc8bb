import ArgumentParser
import Foundation
import Logging
import VesselAgent
import VesselClient
import VesselCore

/// `vessel cache serve` (docs/peers.md): a node without an agent shares its cache with peers.
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "The local content-addressed cache.",
        subcommands: [CacheServe.self]
    )
}

struct CacheServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve this cache's verified blobs to other nodes' pulls (peer-to-peer).",
        discussion: """
            Answers GET /blobs/sha256:<hex> (with Range) to callers holding a ticket the registry signed
            for that blob (Authorization: Ticket …), checked with the registry's ticket keys; 401
            ticket_invalid otherwise. Serves only verified cache entries, never partial downloads.
            Announces the blobs it holds to the registry (PUT /api/v1/peers/ID) whenever the set changes
            and every ttl/3, and withdraws the announcement on SIGTERM or SIGINT. The registry and token
            come from --server, $VESSEL_SERVER/$VESSEL_TOKEN or the config file.
            """
    )

    @Option(help: "The cache to serve (default: $XDG_CACHE_HOME/vessel or ~/.cache/vessel).") var cacheDir: String?
    @Option(help: ArgumentHelp("Listen here.", valueName: "host:port")) var listen: String
    @Option(help: "The peer's id in the registry (default: the host name and the port).") var peerId: String?
    @Option(help: ArgumentHelp("The URL other nodes reach this peer at (default: http://HOST:PORT of --listen, the host name for 0.0.0.0).", valueName: "url"))
    var advertise: String?
    @Option(help: "How long an announcement lives, in seconds (5-3600); it is renewed every third of it.") var ttl = PeerProtocol.defaultTTLSeconds
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "notice"
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .notice
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: level) }
        let logger = Logger(label: "vessel-cache-serve")
        let json = client.json
        try await Output.run(json: json) {
            let (host, port) = try Route.address(listen)
            guard PeerProtocol.ttlRange.contains(ttl) else { throw VesselError.invalidArgument("--ttl must be within 5-3600 seconds") }
            let cache = try BlobCache(root: cacheDir ?? BlobCache.defaultRoot())
            let id = peerId ?? Self.defaultID(port: port)
            try await client.withClient(retryFor: .zero) { api in
                let server = try PeerServer(.init(id: id, advertise: advertise, ttlSeconds: ttl), cache: cache, api: api, logger: logger)
                do {
                    try await server.run(host: host, port: port) { bound in
                        let url = server.configuration.advertise ?? "http://\(host):\(bound)"
                        if json {
                            Output.line(#"{"peer":"\#(id)","url":"\#(url)","port":\#(bound),"cache_dir":"\#(cache.root)"}"#)
                        } else {
                            Output.line("serving the cache \(cache.root) as peer \(id) on \(host):\(bound)")
                        }
                    }
                } catch {
                    throw VesselError(.unavailable, "the peer server stopped: \(error)")
                }
            }
        }
    }

    /// The host name, lowercased and cut to a peer id, with the port (or the process id).
    static func defaultID(port: Int) -> String {
        let name = Agent.hostName.lowercased().map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "-" }
        let base = String(name.prefix(50)).trimmingCharacters(in: CharacterSet(charactersIn: ".-_"))
        return "\(base.isEmpty ? "peer" : base)-\(port != 0 ? port : Int(getpid()))"
    }
}
