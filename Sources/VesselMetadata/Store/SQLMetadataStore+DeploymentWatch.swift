import Logging
import SQLKit
import Synchronization
import VesselCore

/// Announcing deployment changes to the long-polls of every replica (`DeploymentWatch`).
///
/// `recordDeploymentChange` calls `announceDeploymentChange` inside the change's transaction:
/// on PostgreSQL it sends `NOTIFY vessel_deployments` there (PostgreSQL delivers it when the
/// transaction commits, and never when it rolls back), to every replica's `PostgresListener`,
/// this one's included; on every backend it also publishes to this replica's watch once the
/// transaction committed (`AfterCommit`), so the replica that made the change does not wait for
/// the round trip (a duplicate publication wakes no one twice: a woken waiter is gone).
extension SQLMetadataStore {
    /// On PostgreSQL, starts listening for other replicas' deployment changes (a connection of
    /// its own); nothing on SQLite, whose changes are all made in this process.
    public func startWatchingDeployments(logger: Logger) {
        guard let postgres = backend as? PostgresBackend else { return }
        let watch = deploymentWatch
        let listener = PostgresListener(url: postgres.url, channel: DeploymentWatch.channel, logger: logger,
                                        onNotification: { watch.received($0) }, onConnected: { watch.wakeAll() })
        let started = deploymentListener.withLock { current -> Bool in
            guard current == nil else { return false }
            current = listener
            return true
        }
        if started { listener.start() }
    }

    /// Stops listening (and wakes every waiter, which re-reads).
    public func stopWatchingDeployments() async {
        let listener = deploymentListener.withLock { current in
            defer { current = nil }
            return current
        }
        await listener?.stop()
        deploymentWatch.wakeAll()
    }

    /// The listener, while started (for tests).
    var deploymentListenerIfStarted: PostgresListener? { deploymentListener.withLock { $0 } }

    /// Inside a deployment change's transaction: `NOTIFY` on PostgreSQL, and this replica's
    /// watch once the transaction committed.
    func announceDeploymentChange(_ db: any SQLDatabase, model: ModelName, env: String, revision: Int) async throws {
        let key = DeploymentWatch.Key(model: model.description, env: env)
        if backend.dialectName == "postgresql" {
            try await db.raw("SELECT pg_notify(\(bind: DeploymentWatch.channel), \(bind: DeploymentWatch.payload(key, revision: revision)))").run()
        }
        let watch = deploymentWatch
        AfterCommit.run { watch.publish(key, revision: revision) }
    }
}

/// Work a transaction asks for, to run once it committed (and never when it rolled back):
/// `SQLMetadataStore.write` collects it while its body runs and runs it after `COMMIT`.
final class AfterCommit: Sendable {
    @TaskLocal static var current: AfterCommit?

    private let actions = Mutex<[@Sendable () -> Void]>([])

    /// Runs `action` once the current `write`'s transaction committed; at once outside one.
    static func run(_ action: @escaping @Sendable () -> Void) {
        if let current { current.actions.withLock { $0.append(action) } } else { action() }
    }

    func runAll() {
        let actions = actions.withLock { actions in
            defer { actions = [] }
            return actions
        }
        for action in actions { action() }
    }
}
