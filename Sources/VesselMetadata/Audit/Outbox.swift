import Foundation
import SQLKit
import VesselCore

/// The outbox: events written in the same transaction as the change they announce, numbered
/// gap-free by the `event_head` row, delivered later by the webhook service.
public enum Outbox {
    /// Event types of the spine, the transaction backbone and signing.
    public enum EventType: String, Sendable, CaseIterable {
        case modelCreated = "model.created"
        case versionCreated = "version.created"
        case versionReady = "version.ready"
        case versionQuarantined = "version.quarantined"
        case versionArchived = "version.archived"
        case versionDeleted = "version.deleted"
        case aliasSet = "alias.set"
        case aliasMoved = "alias.moved"
        case aliasRemoved = "alias.removed"
        case promotionRequested = "promotion.requested"
        case promotionApproved = "promotion.approved"
        case promotionRejected = "promotion.rejected"
        case promotionRefused = "promotion.refused"
        case checkReported = "check.reported"
        case signatureAdded = "signature.added"
        /// `vessel webhook test`: delivered only to the subscription it names (`payload.webhook`).
        case webhookTest = "webhook.test"
    }

    static func append(_ db: any SQLDatabase, id: String, type: EventType, at: Int64, model: String?, payload: [String: String]) async throws {
        guard let head = try await db.raw("UPDATE event_head SET seq = seq + 1 WHERE id = 1 RETURNING seq").first() else {
            throw VesselError.internalError("the outbox head is missing")
        }
        let seq = try head.decode(column: "seq", as: Int64.self)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(payload), as: UTF8.self)
        try await db.raw("""
            INSERT INTO events (seq, id, type, at, model, payload)
            VALUES (\(bind: seq), \(bind: id), \(bind: type.rawValue), \(bind: at), \(bind: model), \(bind: json))
            """).run()
    }
}
