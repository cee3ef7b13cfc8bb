import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import VesselCore

extension NodeAgent {
    /// A loop run as a service: cancelled on graceful shutdown (SIGTERM, SIGINT).
    struct Loop: Service {
        let body: @Sendable () async -> Void

        func run() async throws {
            await cancelWhenGracefulShutdown { await body() }
        }
    }

    /// `GET /health/version` (the status JSON) and `GET /healthz` (`ok`).
    public func makeHealthRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health/version") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: self.status.json())))
        }
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        return router
    }

    /// Follows, reconciles and reports until SIGTERM or SIGINT, answering health requests on
    /// `host:port` when given (`onListening` gets the bound port).
    /// With `share`, also serves the cache to peers there (`--share`, docs/peers.md).
    public func run(listen: (host: String, port: Int)?, share: (server: PeerServer, host: String, port: Int)? = nil,
                    onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        var services: [any Service] = [
            Loop { await self.follow() },
            Loop { await self.reconcileLoop() },
            Loop { await self.reportLoop() },
        ]
        if let share { services += share.server.services(host: share.host, port: share.port) }
        if let listen {
            services.append(Application(
                router: makeHealthRouter(),
                configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: nil),
                onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
                logger: logger
            ))
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
