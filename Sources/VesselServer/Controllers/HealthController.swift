import Hummingbird
import NIOCore
import Synchronization
import VesselCore
import VesselMetadata

/// The routes a load balancer, an orchestrator and a metrics scraper call, with no token:
/// liveness (`/healthz`: the process answers, whatever its backends do), readiness (`/readyz`:
/// 200 or 503 within a second, `{"database": "ok|down", "storage": "ok|down"}`) and `/metrics`.
struct HealthController {
    let readiness: Readiness
    let metrics: ServerMetrics

    func register(_ router: Router<AppContext>) {
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.registry.render())))
        }
        router.get("/readyz") { _, _ -> Response in
            let state = await readiness.check()
            let word = { (ok: Bool) in ok ? "ok" : "down" }
            let body = "{\"database\":\"\(word(state.database))\",\"storage\":\"\(word(state.storage))\"}\n"
            return Response(status: state.database && state.storage ? .ok : .serviceUnavailable,
                            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: body)))
        }
    }
}

/// Whether each backend answers now, found within `limit` and without queueing behind work:
/// PostgreSQL's state is what its watcher last saw (`PostgresBackend.reachable`, read at once);
/// SQLite answers `SELECT 1`; S3 a `HEAD` of the bucket; local blob storage is always there.
/// A probe not answered within the limit counts as down. The storage answer is reused for a
/// moment, so a burst of probes does not become a burst of calls to the object store; the
/// database's is not (PostgreSQL's is the watcher's, SQLite's costs nothing), so `/readyz`
/// says "ok" as soon as requests go through again.
final class Readiness: Sendable {
    struct State: Sendable {
        var database: Bool
        var storage: Bool
    }

    let database: @Sendable (Duration) async -> Bool
    let storage: @Sendable (Duration) async -> Bool
    /// The time a check may take in all (the probes run side by side).
    let limit: Duration = .milliseconds(800)
    let reuse: Duration = .milliseconds(250)
    private let lastStorage = Mutex<(at: ContinuousClock.Instant, ok: Bool)?>(nil)

    init(database: @escaping @Sendable (Duration) async -> Bool, storage: @escaping @Sendable (Duration) async -> Bool) {
        self.database = database
        self.storage = storage
    }

    convenience init(backend: any SQLBackend, storageProbe: (@Sendable (Duration) async -> Bool)?) {
        if let postgres = backend as? PostgresBackend {
            self.init(database: { _ in postgres.reachable }, storage: storageProbe ?? { _ in true })
        } else {
            self.init(database: { _ in
                (try? await backend.read { db in try await db.raw("SELECT 1 AS ok").first() }) != nil
            }, storage: storageProbe ?? { _ in true })
        }
    }

    func check() async -> State {
        let limit = limit
        async let database = Self.bounded(limit) { await self.database(limit) }
        async let storage = storageState(limit)
        return State(database: await database, storage: await storage)
    }

    private func storageState(_ limit: Duration) async -> Bool {
        if let (at, ok) = lastStorage.withLock({ $0 }), at.duration(to: .now) < reuse { return ok }
        let ok = await Self.bounded(limit) { await self.storage(limit) }
        lastStorage.withLock { $0 = (.now, ok) }
        return ok
    }

    /// `probe`'s answer, or false when it has none within `limit` (it may not react to
    /// cancellation: a SQLite statement on a stuck disk).
    private static func bounded(_ limit: Duration, _ probe: @escaping @Sendable () async -> Bool) async -> Bool {
        (try? await withAbandoningDeadline(limit) { await probe() }) ?? false
    }
}
