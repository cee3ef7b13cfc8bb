import Foundation
import Logging
import NIOCore
import VesselCore
import VesselStorage

/// How `vessel serve` is configured.
public struct ServerOptions: Sendable {
    /// Where SQLite metadata (`metadata.sqlite`), blobs (`blobs/`) and `admin-token` live.
    public var dataDir: String
    public var host: String
    public var port: Int
    /// `postgres://user:password@host:port/db`: metadata in PostgreSQL instead of SQLite under
    /// `dataDir`, shared by every replica that names the same database.
    public var databaseURL: String?
    /// `VESSEL_ADMIN_TOKEN` or `--admin-token-file`: ensured as a token of `admin` on every start.
    public var adminToken: String?
    /// The preferred chunk size of upload sessions: 64 MiB. Smaller values are for tests only
    /// (`--upload-chunk-size 1MiB`); an S3 backend needs at least 5 MiB.
    public var uploadChunkSize: UInt64 = ChunkPlan.defaultChunkSize
    /// An upload session expires this long after it was started or last resumed.
    public var uploadSessionTTL: Duration = .seconds(24 * 3600)
    /// Outbox events older than this are deleted.
    public var outboxRetention: Duration = .seconds(7 * 24 * 3600)
    /// How often the lifecycle job applies retention policies and sweeps blobs (`--gc-interval`).
    public var gcInterval: Duration = .seconds(3600)
    /// How long a blob stays after it was last named, however unreferenced (`--gc-grace`).
    public var gcGrace: Duration = .seconds(3600)
    /// How often the background jobs run.
    public var jobInterval: Duration = .seconds(60)
    /// How often the drift job polls endpoints and judges nodes (`--drift-interval`); an agent
    /// silent for three intervals is `stale`.
    public var driftInterval: Duration = .seconds(10)
    /// How long a node may serve another digest than its slot's before it is `drifted` (`--drift-grace`).
    public var driftGrace: Duration = .seconds(60)
    /// `s3://bucket/prefix?endpoint=…&region=…`: blobs in S3-compatible object storage instead
    /// of under `dataDir` (docs/decisions/0006-s3-blobs.md).
    public var storageURL: String?
    /// Credentials for `storageURL` (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
    public var storageCredentials: S3Credentials?
    /// Create the bucket when it does not exist (`--create-bucket`).
    public var createBucket = false
    /// Answer blob downloads with a redirect to a presigned URL (`--storage-redirect`).
    public var storageRedirect = false
    /// How long a presigned download URL stays valid.
    public var redirectExpiry = 900
    /// How long token, role and alias answers are kept in memory; a change through another
    /// replica shows here within this (see `HotReadCache`). Zero turns the cache off.
    public var readCacheLifetime: Duration = .milliseconds(50)
    /// Webhook delivery: destination allowlist, timeouts, retries.
    public var webhooks = WebhookOptions()
    /// A file holding the key that seals webhook signing secrets in the database
    /// (`--secrets-key-file`; see `WebhookSecretSealer`). Without one they are stored as given.
    public var secretsKeyFile: String?
    /// An HTTP/1 connection with no request in progress is closed after this long; it also
    /// bounds a request whose head has not fully arrived (`--idle-timeout`). Paused while a
    /// handler runs, so long-polls are unaffected.
    public var idleTimeout: Duration = .seconds(30)
    /// The deadline of each database lease and statement and each object-store call, not of a
    /// whole request (`--backend-timeout`): a backend that cannot be reached fails a request
    /// with a retryable `unavailable` within it (docs/decisions/0014-backend-deadlines.md).
    public var backendTimeout: Duration = .seconds(5)
    /// On SIGTERM or SIGINT, in-flight requests may finish for this long; then they are cut
    /// and the server exits (`--shutdown-timeout`; see `ServerLifecycle`).
    public var shutdownTimeout: Duration = .seconds(25)
    /// How long a start with an unreachable database keeps retrying before it exits 6
    /// (`--startup-timeout`; see `ServerLifecycle.open`).
    public var startupTimeout: Duration = .seconds(60)
    /// HTTPS (`--tls-cert`, `--tls-key`, mutual TLS): the loaded pair, re-read while serving
    /// (`CertificateReloader`, docs/tls.md); nil: plain HTTP.
    public var tls: CertificateReloader?
    /// PEM CA certificate(s) trusted for outgoing HTTPS (webhook destinations, an S3 endpoint)
    /// besides the system store (`--ca-cert`).
    public var outgoingCACertPath: String?
    /// Proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed (`--trust-proxy`).
    public var trustedProxies: [CIDR] = []
    /// The address users reach this server at (`--public-url`); an `https://` one makes the
    /// web UI's session cookie `Secure` (docs/ui.md).
    public var publicURL: String?
    /// This replica's name in the `leases` table.
    public var replicaID: String = ServerOptions.defaultReplicaID()
    /// `--egress-limit`: blob bytes a second this server sends at most, over all requests
    /// (benchmarks: a slow origin; docs/peers.md). Nil: no limit.
    public var egressLimit: UInt64? = nil
    /// `--piece-digests`: true (`upload`, the default) computes every blob's piece digests in
    /// the pass that verifies an upload; false (`on-demand`) only when a peer first needs them
    /// (decision 0038).
    public var pieceDigestsAtUpload = true
    /// The piece size uploads hash along, or nil.
    var uploadPieceSize: Int64? { pieceDigestsAtUpload ? PeerProtocol.pieceSize : nil }

    public init(dataDir: String = "./vessel-data", host: String = "127.0.0.1", port: Int = 8750, adminToken: String? = nil) {
        self.dataDir = dataDir
        self.host = host
        self.port = port
        self.adminToken = adminToken
    }

    /// `host-pid-random`: unique per process, readable in the `leases` table.
    public static func defaultReplicaID() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// - Throws: `invalid_argument` for a chunk size outside 64 KiB … 5 GiB.
    public func validate() throws(VesselError) {
        guard uploadChunkSize >= ChunkPlan.smallestTestChunkSize, uploadChunkSize <= ChunkPlan.maximumPartSize else {
            throw .invalidArgument("the upload chunk size must be between 64KiB and 5GiB (64MiB unless testing)")
        }
        if storageURL != nil {
            guard uploadChunkSize >= ChunkPlan.minimumPartSize else {
                throw .invalidArgument("with S3 storage the upload chunk size must be at least 5MiB (S3's smallest multipart part)")
            }
            guard storageCredentials != nil else {
                throw .invalidArgument("S3 storage needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)")
            }
        } else if storageRedirect || createBucket {
            throw .invalidArgument("--storage-redirect and --create-bucket need S3 storage (--storage s3://…)")
        }
    }
}
