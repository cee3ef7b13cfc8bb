import ArgumentParser
import Foundation
import Hummingbird
import Logging
import VesselCore
import VesselServer
import VesselStorage

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Vessel server: SQLite (or PostgreSQL with --database) and local blobs (or S3 with --storage).")

    @Option(help: "Where metadata, blobs and the admin token live.")
    var dataDir = "./vessel-data"

    @Option(help: "Metadata in PostgreSQL instead of SQLite: postgres://user:password@host:port/database.")
    var database: String?

    @Option(help: "A file holding the admin token (instead of VESSEL_ADMIN_TOKEN); needed on the first start with --database.")
    var adminTokenFile: String?

    @Option(help: ArgumentHelp("Blobs in S3-compatible storage instead of --data-dir: s3://bucket/prefix?endpoint=http://host:port&region=us-east-1.", discussion: "Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN."))
    var storage: String?

    @Flag(help: "Create the --storage bucket when it does not exist.")
    var createBucket = false

    @Flag(help: "Answer blob downloads with a redirect to a presigned --storage URL (clients fetch from object storage directly).")
    var storageRedirect = false

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8750

    @Option(help: "Preferred chunk size of upload sessions (64MiB; smaller only for tests, e.g. 1MiB).")
    var uploadChunkSize = "64MiB"

    @Option(help: "An upload session expires this long after it was started or resumed (e.g. 24h).")
    var uploadSessionTtl = "24h"

    @Option(help: "Outbox events older than this are deleted (e.g. 7d).")
    var outboxRetention = "7d"

    @Option(help: "How often background jobs (upload expiry, outbox retention) run (e.g. 60s).")
    var jobInterval = "60s"

    @Option(help: "How often the lifecycle job applies retention policies, expires drafts and sweeps unreferenced blobs (e.g. 1h).")
    var gcInterval = "1h"

    @Option(help: "How long a blob stays after a draft, upload, commit or proof last named it, however unreferenced (e.g. 1h; 0 for none).")
    var gcGrace = "1h"

    @Option(help: "How often the drift job polls deployment endpoints and judges every node (e.g. 10s); an agent silent for three intervals is stale.")
    var driftInterval = "10s"

    @Option(help: "How long a node may serve another digest than its slot's before it is drifted (e.g. 90s).")
    var driftGrace = "60s"

    @Option(name: .customLong("webhook-allow"), help: ArgumentHelp("Let webhooks reach this network although it is loopback, private or link-local (repeatable, e.g. 10.0.0.0/8).", valueName: "CIDR"))
    var webhookAllow: [String] = []

    @Option(help: "Retry a failing webhook delivery this long after its first attempt, then give up (e.g. 24h).")
    var webhookRetryWindow = "24h"

    @Option(help: "While the API is answering requests, send at most this many webhook deliveries a second (0: no limit); when it is idle they go at full speed.")
    var webhookBusyRate = 100

    @Option(help: "Close a connection idle this long, or one whose request head has not arrived within it (e.g. 30s).")
    var idleTimeout = "30s"

    @Option(help: "Give up on a database lease or statement, or an object-store call, after this long and answer 503 with Retry-After (e.g. 5s); a long download is not cut by it.")
    var backendTimeout = "5s"

    @Option(help: "On SIGTERM or SIGINT, let requests in flight finish for up to this long, then exit (e.g. 25s); a second signal exits at once.")
    var shutdownTimeout = "25s"

    @Option(help: "While the database cannot be reached at start, keep retrying for this long, then exit 6 (e.g. 60s).")
    var startupTimeout = "60s"

    @Option(help: ArgumentHelp("A file holding the key that encrypts webhook signing secrets in the database: 32 random bytes, raw, hex or base64 (e.g. `openssl rand -hex 32`).", valueName: "FILE"))
    var secretsKeyFile: String?

    @Option(help: ArgumentHelp("Serve HTTPS with this PEM certificate (then any intermediates); needs --tls-key. Re-read on SIGHUP and when the file changes.", valueName: "PEM"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("The PEM private key of --tls-cert (unencrypted).", valueName: "PEM"))
    var tlsKey: String?

    @Option(help: "The lowest TLS version accepted: 1.2 or 1.3.")
    var tlsMinVersion = "1.2"

    @Option(help: ArgumentHelp("Ask clients for a certificate signed by this PEM CA (mutual TLS); a verified certificate can stand for a principal (`vessel principal add --cert-subject`).", valueName: "PEM"))
    var tlsClientCa: String?

    @Option(help: "With --tls-client-ca: `required` refuses a client without a certificate at the handshake; `optional` lets it in to use a token. Default: required.")
    var tlsClientAuth: String?

    @Option(help: "How often --tls-cert and --tls-key are checked for a change (e.g. 5s); SIGHUP re-reads them at once.")
    var tlsReloadInterval = "5s"

    @Flag(help: "With --tls-cert, offer only HTTP/1.1 (no HTTP/2 by ALPN).")
    var noHttp2 = false

    @Option(help: ArgumentHelp("Trust this PEM CA for outgoing HTTPS (webhook destinations, an https:// S3 endpoint), besides the system store.", valueName: "PEM"))
    var caCert: String?

    @Option(name: .customLong("trust-proxy"), help: ArgumentHelp("Believe X-Forwarded-For and X-Forwarded-Proto from this proxy's address (repeatable, e.g. 10.0.0.0/8); from anywhere else they are ignored.", valueName: "CIDR"))
    var trustProxy: [String] = []

    @Option(help: ArgumentHelp("The address users reach this server at; an https:// one makes the web UI's session cookie Secure.", valueName: "URL"))
    var publicURL: String?

    @Option(help: ArgumentHelp("For benchmarks: send at most this many blob bytes a second over all requests (e.g. 100MB, 64MiB); stands in for a slow origin (docs/peers.md).", valueName: "BYTES_PER_SECOND"))
    var egressLimit: String?

    @Option(help: ArgumentHelp("When to compute the SHA-256 of every 64 MiB piece of a blob, which peers' pulls check: upload (in the pass that verifies the upload) or on-demand (the first time a peer needs them).", valueName: "WHEN"))
    var pieceDigests: String = "upload"

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: level) }
        let logger = Logger(label: "vessel")
        var options = ServerOptions(dataDir: dataDir, host: host, port: port, adminToken: ProcessInfo.processInfo.environment["VESSEL_ADMIN_TOKEN"])
        try await Output.run(json: false) {
            options.databaseURL = database
            options.storageURL = storage
            options.createBucket = createBucket
            options.storageRedirect = storageRedirect
            options.secretsKeyFile = secretsKeyFile
            options.idleTimeout = .seconds(try Timestamp.parseDuration(idleTimeout))
            options.backendTimeout = .seconds(try Timestamp.parseDuration(backendTimeout))
            options.shutdownTimeout = .seconds(try Timestamp.parseDuration(shutdownTimeout))
            options.startupTimeout = .seconds(try Timestamp.parseDuration(startupTimeout))
            let env = ProcessInfo.processInfo.environment
            if storage != nil, let access = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"], !access.isEmpty, !secret.isEmpty {
                let token = env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
                options.storageCredentials = S3Credentials(accessKey: access, secretKey: secret, sessionToken: token)
            }
            if let path = adminTokenFile {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw VesselError.invalidArgument("cannot read the admin token file \(path)")
                }
                options.adminToken = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            options.uploadChunkSize = try ChunkPlan.parseSize(uploadChunkSize)
            options.uploadSessionTTL = .seconds(try Timestamp.parseDuration(uploadSessionTtl))
            options.outboxRetention = .seconds(try Timestamp.parseDuration(outboxRetention))
            options.jobInterval = .seconds(try Timestamp.parseDuration(jobInterval))
            options.gcInterval = .seconds(try Timestamp.parseDuration(gcInterval))
            options.gcGrace = .seconds(gcGrace == "0" || gcGrace == "0s" ? 0 : try Timestamp.parseDuration(gcGrace))
            options.driftInterval = .seconds(try Timestamp.parseDuration(driftInterval))
            options.driftGrace = .seconds(try Timestamp.parseDuration(driftGrace))
            options.webhooks.allowedNetworks = try webhookAllow.map { text throws(VesselError) in try CIDR(text) }
            options.webhooks.retryWindow = .seconds(try Timestamp.parseDuration(webhookRetryWindow))
            guard webhookBusyRate >= 0 else { throw VesselError.invalidArgument("--webhook-busy-rate must be 0 (no limit) or more") }
            options.webhooks.busySendRate = webhookBusyRate == 0 ? nil : webhookBusyRate
            if let caCert {
                try ServerTLSOptions.checkCertificates(caCert, flag: "--ca-cert")
                options.webhooks.caCertPath = caCert
                options.outgoingCACertPath = caCert
            }
            options.trustedProxies = try trustProxy.map { text throws(VesselError) in try CIDR(text) }
            options.egressLimit = try egressLimit.map { text throws(VesselError) in try EgressLimiter.parse(text) }
            switch pieceDigests {
            case "upload": options.pieceDigestsAtUpload = true
            case "on-demand": options.pieceDigestsAtUpload = false
            default: throw VesselError.invalidArgument("--piece-digests must be upload or on-demand, not '\(pieceDigests.prefix(40))'")
            }
            if let publicURL {
                guard publicURL.hasPrefix("https://") || publicURL.hasPrefix("http://") else {
                    throw VesselError.invalidArgument("--public-url must start with https:// or http://")
                }
                options.publicURL = publicURL
            }
            options.tls = try loadTLS(logger: logger)
            DescriptorLimit.raiseToHard(logger: logger)
            // Start-up retries, signals and the bounded shutdown: see ServerLifecycle.
            let lifecycle = ServerLifecycle(options: options, logger: logger)
            let registry = try await lifecycle.open()
            logger.notice("vessel serving", metadata: ["address": "\(options.tls == nil ? "http" : "https")://\(host):\(port)", "data_dir": "\(dataDir)"])
            try await lifecycle.run(registry)
        }
    }

    /// The certificate and key (exit 2 when missing, unreadable or not a pair), or nil for plain HTTP.
    func loadTLS(logger: Logger) throws -> CertificateReloader? {
        guard let tlsCert, let tlsKey else {
            if tlsCert != nil || tlsKey != nil { throw VesselError.invalidArgument("--tls-cert and --tls-key go together") }
            if tlsClientCa != nil || tlsClientAuth != nil || tlsMinVersion != "1.2" || noHttp2 {
                throw VesselError.invalidArgument("--tls-min-version, --tls-client-ca, --tls-client-auth and --no-http2 need --tls-cert and --tls-key")
            }
            return nil
        }
        var tls = ServerTLSOptions(certificatePath: tlsCert, keyPath: tlsKey)
        tls.minimumVersion = try ServerTLSOptions.minimumVersion(tlsMinVersion)
        tls.clientCAPath = tlsClientCa
        if let tlsClientAuth {
            guard tlsClientCa != nil else { throw VesselError.invalidArgument("--tls-client-auth needs --tls-client-ca") }
            tls.clientAuth = try ServerTLSOptions.clientAuth(tlsClientAuth)
        }
        tls.http2 = !noHttp2
        tls.reloadInterval = .seconds(try Timestamp.parseDuration(tlsReloadInterval))
        return try CertificateReloader(options: tls, logger: logger)
    }
}
