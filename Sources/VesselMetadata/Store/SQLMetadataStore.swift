import Foundation
import Logging
import SQLKit
import Synchronization
import VesselCore

/// The metadata store on any `SQLBackend`. Each mutating method is one transaction that also
/// appends its audit entry and outbox events.
public final class SQLMetadataStore: Sendable {
    let backend: any SQLBackend
    /// Where webhook delivery state lives (cursors, deliveries, attempts): `backend` itself, or
    /// on embedded SQLite a database file of its own, so the delivery service's writes never
    /// queue behind (or hold up) the single writer the API uses.
    let deliveries: any SQLBackend
    /// True when `deliveries` is `backend`: a change to both is then one transaction.
    let sharesDeliveries: Bool
    let clock: @Sendable () -> Int64
    let makeID: @Sendable () -> String
    /// How webhook signing secrets are stored (sealed with `--secrets-key-file`, else as given).
    let secrets: WebhookSecretSealer
    /// The paging cursor codec, once `pageCursor()` has read its key.
    let pageCursors = Mutex<PageCursor?>(nil)
    /// The long-polls waiting for a deployment to change (`SQLMetadataStore+DeploymentWatch.swift`).
    public let deploymentWatch = DeploymentWatch()
    /// On PostgreSQL, the `LISTEN` that brings other replicas' deployment changes, once started.
    let deploymentListener = Mutex<PostgresListener?>(nil)

    /// - Parameters:
    ///   - clock: now, in microseconds since the epoch (injected so tests are deterministic).
    ///   - makeID: a new unique id.
    ///   - secrets: how webhook signing secrets are stored.
    ///   - deliveries: a separate database for webhook delivery state (migrated with
    ///     `Migrations.runDeliveries`); nil keeps it in `backend`.
    public init(backend: any SQLBackend, deliveries: (any SQLBackend)? = nil, clock: @escaping @Sendable () -> Int64 = { Timestamp.micros(Date()) }, makeID: @escaping @Sendable () -> String = RandomID.uuid,
                secrets: WebhookSecretSealer = .plaintext) {
        self.backend = backend
        self.deliveries = deliveries ?? backend
        self.sharesDeliveries = deliveries == nil
        self.clock = clock
        self.makeID = makeID
        self.secrets = secrets
    }

    /// Closes the separate delivery database, if there is one (`backend` is closed by its owner).
    public func shutdownDeliveries() async {
        if !sharesDeliveries { await deliveries.shutdown() }
    }

    /// Runs a mutation, mapping unique violations to `already_exists` with `conflictMessage`.
    /// What the body asked for with `AfterCommit.run` happens once the transaction committed.
    func write<T: Sendable>(conflictMessage: String = "it already exists", _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            let afterCommit = AfterCommit()
            let result = try await AfterCommit.$current.withValue(afterCommit) { try await backend.transaction(body) }
            afterCommit.runAll()
            return result
        } catch let error as VesselError {
            throw error
        } catch where backend.isUniqueViolation(error) {
            throw VesselError.alreadyExists(conflictMessage)
        }
    }

    func audit(_ db: any SQLDatabase, _ change: ChangeContext, at: Int64, action: String, target: String, model: ModelName?, before: String? = nil, after: String? = nil) async throws {
        try await AuditChain.append(db, at: at, change: change, action: action, target: target, model: model?.description, before: before, after: after)
    }

    func event(_ db: any SQLDatabase, _ type: Outbox.EventType, at: Int64, model: ModelName?, _ payload: [String: String]) async throws {
        try await Outbox.append(db, id: makeID(), type: type, at: at, model: model?.description, payload: payload)
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    static func encodeJSON<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
