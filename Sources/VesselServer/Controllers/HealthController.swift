import Hummingbird
import NIOCore
import VesselMetadata

/// The routes a load balancer, an orchestrator and a metrics scraper call, with no token:
/// liveness (`/healthz`), readiness (`/readyz`: the database answers) and `/metrics`.
struct HealthController {
    let backend: any SQLBackend
    let metrics: ServerMetrics

    func register(_ router: Router<AppContext>) {
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.registry.render())))
        }
        router.get("/readyz") { _, _ -> Response in
            _ = try await backend.read { db in try await db.raw("SELECT 1 AS ok").first() }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
        }
    }
}
