import Foundation
import SQLKit
import VesselCore

/// The outbox: events written in the same transaction as the change they announce, numbered
/// gap-free by the `event_head` row, delivered later by the webhook service. The types are
/// `Outbox.EventType` (EventType.swift).
public enum Outbox {
    /// Several events of one change, numbered consecutively with one update of the head
    /// (a version's commit writes two): the head row is updated once, not once per event.
    static func append(_ db: any SQLDatabase, _ events: [(id: String, type: EventType, payload: [String: String])], at: Int64, model: String?) async throws {
        guard !events.isEmpty else { return }
        guard let head = try await db.raw("UPDATE event_head SET seq = seq + \(bind: events.count) WHERE id = 1 RETURNING seq").first() else {
            throw VesselError.internalError("the outbox head is missing")
        }
        let last = try head.decode(column: "seq", as: Int64.self)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var rows: [SQLExpression] = []
        for (offset, event) in events.enumerated() {
            let json = String(decoding: try encoder.encode(event.payload), as: UTF8.self)
            let seq = last - Int64(events.count) + 1 + Int64(offset)
            rows.append(SQLGroupExpression([SQLBind(seq), SQLBind(event.id), SQLBind(event.type.rawValue), SQLBind(at), SQLBind(model), SQLBind(json)]))
        }
        try await db.raw("INSERT INTO events (seq, id, type, at, model, payload) VALUES \(SQLList(rows))").run()
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
