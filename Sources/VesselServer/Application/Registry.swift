import Foundation
import Hummingbird
import Logging
import NIOPosix
import VesselCore
import VesselMetadata
import VesselStorage

/// The composition root: the only place that names concrete backends.
public struct Registry: Sendable {
    public let store: SQLMetadataStore
    public let blobs: any BlobStore
    public let backend: any SQLBackend
    public let pipeline: ValidationPipeline
    public let authorizer: any Authorizer
    public let clock: @Sendable () -> Int64
    /// Chunks of upload sessions (the filesystem blob store on embedded defaults).
    public let uploads: any ChunkedUploadStore
    public let metrics: ServerMetrics
    public let options: ServerOptions
    /// A presigned URL for a blob when downloads redirect to object storage (`--storage-redirect`).
    public var blobRedirect: (@Sendable (Digest) -> String)? = nil
    /// Closes the blob store's connections (S3).
    public var storageShutdown: (@Sendable () async -> Void)? = nil
    /// Nudges webhook delivery after writes (shared by the router and the delivery service).
    public let webhookWakeup = WebhookWakeup()
    /// Requests in flight (counted by the router; webhook delivery paces its sends by them).
    public let requestActivity = RequestActivity()

    /// Opens the registry: metadata in SQLite under `options.dataDir`, or in PostgreSQL when
    /// `options.databaseURL` is set; blobs under `options.dataDir`. Runs migrations and
    /// bootstraps the `admin` principal (once, under the backend's start-up lock).
    /// - Parameter clock: now in microseconds since the epoch; injected by tests.
    public static func openEmbedded(_ options: ServerOptions, logger: Logger, faults: FileFaults = .none, clock: (@Sendable () -> Int64)? = nil) async throws -> Registry {
        try options.validate()
        let dir = options.dataDir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Storage first: wrong S3 credentials or a missing bucket stop the start before any migration.
        let storage = try await openStorage(options, faults: faults, logger: logger)
        let backend: any SQLBackend
        do {
            backend = try await openMetadata(options, logger: logger)
        } catch {
            await storage.s3?.shutdown()
            throw error
        }
        let deliveries: SQLiteBackend?
        do {
            try await Migrations.run(on: backend, logger: logger)
            deliveries = try await openDeliveries(options, logger: logger)
        } catch {
            await backend.shutdown()
            await storage.s3?.shutdown()
            throw error
        }
        let clock: @Sendable () -> Int64 = clock ?? { Timestamp.micros(Date()) }
        let store = SQLMetadataStore(backend: backend, deliveries: deliveries, clock: clock)
        var registry = Registry(
            store: store, blobs: storage.blobs, backend: backend, pipeline: .standard,
            authorizer: RoleAuthorizer(grants: store), clock: clock, uploads: storage.uploads, metrics: ServerMetrics(), options: options
        )
        if let s3 = storage.s3 {
            registry.storageShutdown = { await s3.shutdown() }
            if options.storageRedirect {
                let expiry = options.redirectExpiry
                registry.blobRedirect = { digest in s3.presignedURL(for: digest, expires: expiry) }
            }
        }
        let opened = registry
        do {
            try await backend.withStartupLock { try await opened.bootstrapAdmin(options, logger: logger) }
        } catch {
            await opened.shutdown()
            throw error
        }
        return opened
    }

    /// Blobs under `dataDir/blobs`, or in the S3 bucket of `storageURL`.
    static func openStorage(_ options: ServerOptions, faults: FileFaults, logger: Logger) async throws -> (blobs: any BlobStore, uploads: any ChunkedUploadStore, s3: S3BlobStore?) {
        guard let text = options.storageURL, let credentials = options.storageCredentials else {
            let blobs = try FileSystemBlobStore(root: "\(options.dataDir)/blobs", threadPool: .blobIO, faults: faults)
            try blobs.sweepTemporary()
            return (blobs, blobs, nil)
        }
        let location = try S3Location(parsing: text)
        let (s3, status) = try await S3BlobStore.open(location, credentials: credentials, createBucket: options.createBucket,
                                                      cacheRoot: "\(options.dataDir)/s3-cache", logger: logger)
        if status.created { logger.notice("created bucket '\(location.bucket)'") }
        do {
            let swept = try await s3.sweepAbandonedWrites()
            if swept > 0 { logger.notice("aborted \(swept) blob write(s) left unfinished for over a day") }
        } catch {
            logger.warning("could not look for unfinished blob writes: \(error)")
        }
        if status.versioning != "Enabled" {
            logger.warning("bucket versioning is off on '\(location.bucket)': a deleted or overwritten blob cannot be recovered; enable versioning on the bucket")
        }
        logger.info("blobs in S3", metadata: ["storage": "\(location)", "redirect": "\(options.storageRedirect)"])
        return (s3, s3, s3)
    }

    /// SQLite under `dataDir`, or PostgreSQL at `databaseURL`.
    static func openMetadata(_ options: ServerOptions, logger: Logger) async throws -> any SQLBackend {
        if let text = options.databaseURL {
            let url = try PostgresURL(text)
            logger.info("metadata in PostgreSQL", metadata: ["database": "\(url.redacted)"])
            return try await PostgresBackend.connect(url: url, logger: logger)
        }
        return try await SQLiteBackend.open(path: "\(options.dataDir)/metadata.sqlite", logger: logger)
    }

    /// On SQLite, webhook delivery state in `deliveries.sqlite` beside `metadata.sqlite`, with
    /// a writer of its own (docs/decisions/0009-delivery-database.md); nil on PostgreSQL.
    static func openDeliveries(_ options: ServerOptions, logger: Logger) async throws -> SQLiteBackend? {
        guard options.databaseURL == nil else { return nil }
        let deliveries = try await SQLiteBackend.open(path: "\(options.dataDir)/deliveries.sqlite", readers: 2, logger: logger)
        do {
            try await Migrations.runDeliveries(on: deliveries, registryPath: "\(options.dataDir)/metadata.sqlite", logger: logger)
        } catch {
            await deliveries.shutdown()
            throw error
        }
        return deliveries
    }

    /// Creates `admin` on first start, writing its token to `DIR/admin-token` (mode 0600);
    /// ensures `VESSEL_ADMIN_TOKEN` as an admin token on every start. On a shared database
    /// (PostgreSQL) replicas share no directory, so the first start needs `options.adminToken`.
    func bootstrapAdmin(_ options: ServerOptions, logger: Logger) async throws {
        let system = ChangeContext(actor: "system", requestID: nil)
        if try await store.principal(named: "admin") == nil, options.databaseURL != nil {
            guard let token = options.adminToken, !token.isEmpty else {
                throw VesselError.invalidArgument("the database has no admin yet: give its token with VESSEL_ADMIN_TOKEN or --admin-token-file (replicas on a shared database share no admin-token file)")
            }
            _ = try await store.createPrincipal(name: "admin", kind: .user, change: system)
            _ = try await store.grant(principal: "admin", role: .admin, scope: .registry, change: system)
            logger.notice("created principal 'admin' with the token given at start")
        } else if try await store.principal(named: "admin") == nil {
            _ = try await store.createPrincipal(name: "admin", kind: .user, change: system)
            _ = try await store.grant(principal: "admin", role: .admin, scope: .registry, change: system)
            let token = Tokens.generate()
            _ = try await store.createToken(principal: "admin", name: "bootstrap", hash: Tokens.hash(token), expiresAt: nil, change: system)
            let path = "\(options.dataDir)/admin-token"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw VesselError.internalError("cannot write the admin token file \(path)") }
            fchmod(fd, 0o600)
            let line = Array((token + "\n").utf8)
            _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            logger.notice("created principal 'admin'; its token is in \(path)")
        }
        if let token = options.adminToken, !token.isEmpty {
            try await store.ensureToken(principal: "admin", name: "VESSEL_ADMIN_TOKEN", hash: Tokens.hash(token))
        }
    }

    /// The HTTP router with every route.
    public func makeRouter() -> (Router<AppContext>, routes: [String]) {
        let router = Router(context: AppContext.self)
        router.middlewares.add(MetricsMiddleware(metrics: metrics))
        router.middlewares.add(ErrorMiddleware())
        let cache = HotReadCache(lifetime: options.readCacheLifetime)
        let wakeup = webhookWakeup
        router.middlewares.add(WriteNotifyMiddleware(activity: requestActivity) {
            cache.invalidate()
            wakeup.signal()
        })
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: metrics.registry.render())))
        }
        router.get("/readyz") { _, _ -> Response in
            _ = try await backend.read { db in try await db.raw("SELECT 1 AS ok").first() }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
        }
        let routes = APIRoutes(router: router, tokens: store, authorizer: authorizer, cache: cache, clock: clock)
        AdminController(store: store, clock: clock).register(routes)
        ModelController(store: store, blobs: blobs, pipeline: pipeline).register(routes)
        BlobController(store: store, blobs: blobs, metrics: metrics, redirect: blobRedirect).register(routes)
        UploadController(store: store, uploads: uploads, metrics: metrics, preferredChunkSize: options.uploadChunkSize,
                         ttl: BackgroundJobs.micros(options.uploadSessionTTL), clock: clock).register(routes)
        AliasController(store: store).register(routes)
        GovernanceController(store: store, cache: cache).register(routes)
        SignatureController(store: store).register(routes)
        KeyController(store: store).register(routes)
        WebhookController(store: store, policy: DestinationPolicy(allowed: options.webhooks.allowedNetworks)).register(routes)
        return (router, routes.registered.map { "\($0.method) \($0.path) \($0.permission.rawValue)" })
    }

    public func makeApplication(_ options: ServerOptions, logger: Logger) -> some ApplicationProtocol {
        Application(
            router: makeRouter().0,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "vessel"),
            services: [backgroundJobs(logger: logger), webhookDelivery(logger: logger)],
            logger: logger
        )
    }

    /// Upload-session expiry and outbox retention, each under its lease.
    public func backgroundJobs(logger: Logger) -> BackgroundJobs {
        let jobs = [
            MaintenanceJobs.uploadExpiry(store: store, uploads: uploads, interval: options.jobInterval),
            MaintenanceJobs.outboxRetention(store: store, retention: BackgroundJobs.micros(options.outboxRetention), interval: options.jobInterval),
        ]
        return BackgroundJobs(jobs: jobs, leases: store, holder: options.replicaID, clock: clock, metrics: metrics, logger: logger)
    }

    /// Webhook delivery under its lease (see `WebhookDelivery`).
    public func webhookDelivery(logger: Logger) -> WebhookDelivery {
        WebhookDelivery(store: store, options: options.webhooks, holder: options.replicaID, clock: clock, wakeup: webhookWakeup,
                        activity: requestActivity, logger: logger)
    }

    public func shutdown() async {
        await store.shutdownDeliveries()
        await backend.shutdown()
        await storageShutdown?()
    }
}

import NIOCore
