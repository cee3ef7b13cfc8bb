import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
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
    /// Whether blob storage answers within the given time (`/readyz`); nil: local blobs.
    public var storageProbe: (@Sendable (Duration) async -> Bool)? = nil
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
        let secrets = try options.secretsKeyFile.map { path throws(VesselError) in try WebhookSecretSealer.load(keyFile: path) } ?? .plaintext
        try prepareDataDirectory(options.dataDir, logger: logger)
        // Backend failures are counted on /metrics and logged once per interval from the start.
        var metrics = ServerMetrics()
        // `--egress-limit` (benchmarks): one bucket for every blob byte sent.
        metrics.egress = options.egressLimit.map { EgressLimiter(bytesPerSecond: $0) }
        let policy = BackendMonitor(metrics: metrics, logger: logger).policy(timeout: options.backendTimeout)
        // Storage first: wrong S3 credentials or a missing bucket stop the start before any migration.
        let storage = try await openStorage(options, faults: faults, policy: policy, logger: logger)
        let backend: any SQLBackend
        do {
            backend = try await openMetadata(options, policy: policy, logger: logger)
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
        let store = SQLMetadataStore(backend: backend, deliveries: deliveries, clock: clock, secrets: secrets)
        var registry = Registry(
            store: store, blobs: storage.blobs, backend: backend, pipeline: .standard,
            authorizer: RoleAuthorizer(grants: store), clock: clock, uploads: storage.uploads, metrics: metrics, options: options
        )
        if let s3 = storage.s3 {
            registry.storageShutdown = { await s3.shutdown() }
            registry.storageProbe = { timeout in await s3.probe(timeout: timeout) }
            if options.storageRedirect {
                let expiry = options.redirectExpiry
                registry.blobRedirect = { digest in s3.presignedURL(for: digest, expires: expiry) }
            }
        }
        let opened = registry
        do {
            try await backend.withStartupLock { try await opened.bootstrapAdmin(options, logger: logger) }
            try await prepareWebhookSecrets(store, encrypted: secrets.encrypts, logger: logger)
        } catch {
            await opened.shutdown()
            throw error
        }
        // Other replicas' deployment changes wake this one's long-polls (PostgreSQL LISTEN).
        store.startWatchingDeployments(logger: logger)
        return opened
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
        HealthController(readiness: Readiness(backend: backend, storageProbe: storageProbe), metrics: metrics).register(router)
        // Mutual TLS (a client CA given): client certificates can stand for principals (docs/tls.md).
        let mutualTLS = options.tls?.options.clientCAPath != nil
        let routes = APIRoutes(router: router, tokens: store, authorizer: authorizer, cache: cache, cursors: store, clock: clock,
                               certificates: mutualTLS ? store : nil, origin: OriginPolicy(proxies: options.trustedProxies, tls: options.tls != nil))
        AdminController(store: store, clock: clock).register(routes)
        MaintenanceController(store: store, blobs: blobs, options: options).register(routes)
        ModelController(store: store, blobs: blobs, pipeline: pipeline).register(routes)
        BlobController(store: store, blobs: blobs, metrics: metrics, redirect: blobRedirect, pieceSize: options.uploadPieceSize).register(routes)
        HubController(store: store, blobs: blobs, metrics: metrics, redirect: blobRedirect).register(routes)
        UploadController(store: store, uploads: uploads, metrics: metrics, preferredChunkSize: options.uploadChunkSize,
                         ttl: BackgroundJobs.micros(options.uploadSessionTTL), clock: clock).register(routes)
        AliasController(store: store).register(routes)
        GovernanceController(store: store, cache: cache).register(routes)
        DeploymentController(store: store, watch: store.deploymentWatch).register(routes)
        NodeController(store: store, policy: DestinationPolicy(allowed: options.webhooks.allowedNetworks)).register(routes)
        SignatureController(store: store).register(routes)
        KeyController(store: store).register(routes)
        WebhookController(store: store, policy: DestinationPolicy(allowed: options.webhooks.allowedNetworks)).register(routes)
        RetentionController(store: store, collector: garbageCollector()).register(routes)
        MLflowController(store: store, blobs: blobs, metrics: metrics).register(routes)
        LineageController(store: store).register(routes)
        PeerController(store: store, blobs: blobs, metrics: metrics, clock: clock).register(routes)
        OpenAPIController().register(routes)
        registerUI(router)
        return (router, routes.registered.map { "\($0.method) \($0.path) \($0.permission.rawValue)" })
    }

    public func makeApplication(_ options: ServerOptions, logger: Logger) -> some ApplicationProtocol {
        // With --tls-cert: HTTPS (HTTP/2 by ALPN), and the certificate reloader as a service.
        let server = options.tls.map { ServerTLSContext.serverBuilder($0, idleTimeout: options.idleTimeout) }
        let services: [any Service] = [backgroundJobs(logger: logger), webhookDelivery(logger: logger)] + (options.tls.map { [$0] } ?? [])
        return Application(
            router: makeRouter().0,
            server: server ?? .http1(configuration: .init(idleTimeout: TimeAmount(options.idleTimeout))),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "vessel"),
            services: services,
            logger: logger
        )
    }

    /// Upload-session expiry, outbox retention and the drift job, each under its lease.
    public func backgroundJobs(logger: Logger) -> BackgroundJobs {
        let jobs = [
            MaintenanceJobs.uploadExpiry(store: store, uploads: uploads, interval: options.jobInterval),
            MaintenanceJobs.outboxRetention(store: store, retention: BackgroundJobs.micros(options.outboxRetention), interval: options.jobInterval),
            DriftMonitor(store: store, policy: DestinationPolicy(allowed: options.webhooks.allowedNetworks), webhooks: options.webhooks,
                         interval: options.driftInterval, grace: options.driftGrace, clock: clock, metrics: metrics).job,
            garbageCollectionJob(logger: logger),
        ]
        return BackgroundJobs(jobs: jobs, leases: store, holder: options.replicaID, clock: clock, metrics: metrics, logger: logger)
    }

    /// Webhook delivery under its lease (see `WebhookDelivery`).
    public func webhookDelivery(logger: Logger) -> WebhookDelivery {
        WebhookDelivery(store: store, options: options.webhooks, holder: options.replicaID, clock: clock, wakeup: webhookWakeup,
                        activity: requestActivity, logger: logger)
    }

    public func shutdown() async {
        await store.stopWatchingDeployments()
        await store.shutdownDeliveries()
        await backend.shutdown()
        await storageShutdown?()
    }
}

