import struct Crypto.SHA256
import SQLKit
import VesselCore

/// One audit entry as stored.
public struct AuditEntry: Sendable, Equatable, Codable {
    public var seq: Int64
    public var at: Int64
    public var actor: String
    public var action: String
    public var target: String
    public var model: String?
    public var before: String?
    public var after: String?
    public var requestID: String?
    /// Why, when the actor said (`--reason`).
    public var reason: String?
    public var prevHash: String
    public var hash: String
    /// What the change was authenticated with: `token` or `certificate <identity>` (null before migration 14).
    public var credential: String? = nil
    /// The client's address (behind `--trust-proxy`, the one the proxy names).
    public var clientAddress: String? = nil
}

/// The hash-chained audit log.
///
/// Canonical encoding of an entry (UTF-8, hashed with SHA-256, hex lowercase), byte for byte:
///
///     vessel-audit-v1\n
///     then for each field in this order — seq, at, actor, action, target, model, before,
///     after, request_id, reason, [credential, client_address,] prev_hash — the line
///     `<name>=<len>:<value>\n`, where <len> is the value's length in UTF-8 bytes in decimal; a
///     null value is the line `<name>=-\n`. `credential` and `client_address` (mutual TLS,
///     docs/tls.md) are written only when set, so entries made before them hash as they did.
///     `seq` and `at` (microseconds since the epoch) are written in decimal.
///
/// Sequence numbers come from the single `audit_head` row, updated inside the writing
/// transaction: the row lock serializes appends and a rolled-back transaction leaves no gap.
public enum AuditChain {
    /// `prev_hash` of entry 1.
    public static let genesisHash = String(repeating: "0", count: 64)

    public static func canonicalBytes(seq: Int64, at: Int64, actor: String, action: String, target: String, model: String?, before: String?, after: String?, requestID: String?, reason: String?, credential: String? = nil, clientAddress: String? = nil, prevHash: String) -> [UInt8] {
        var out = Array("vessel-audit-v1\n".utf8)
        func field(_ name: String, _ value: String?) {
            out += Array(name.utf8)
            if let value {
                out += Array("=\(value.utf8.count):".utf8)
                out += Array(value.utf8)
            } else {
                out += Array("=-".utf8)
            }
            out.append(0x0A)
        }
        field("seq", String(seq))
        field("at", String(at))
        field("actor", actor)
        field("action", action)
        field("target", target)
        field("model", model)
        field("before", before)
        field("after", after)
        field("request_id", requestID)
        field("reason", reason)
        if let credential { field("credential", credential) }
        if let clientAddress { field("client_address", clientAddress) }
        field("prev_hash", prevHash)
        return out
    }

    static func hash(_ bytes: [UInt8]) -> String { Digest(bytes: SHA256.hash(data: bytes)).hex }

    /// Appends one entry inside the caller's transaction.
    static func append(_ db: any SQLDatabase, at: Int64, change: ChangeContext, action: String, target: String, model: String?, before: String?, after: String?) async throws {
        guard let head = try await db.raw("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash").first() else {
            throw VesselError.internalError("the audit chain head is missing")
        }
        let seq = try head.decode(column: "seq", as: Int64.self)
        let prev = try head.decode(column: "hash", as: String.self)
        let hash = hash(canonicalBytes(seq: seq, at: at, actor: change.actor, action: action, target: target, model: model, before: before, after: after, requestID: change.requestID, reason: change.reason,
                                         credential: change.credential, clientAddress: change.clientAddress, prevHash: prev))
        try await db.raw("""
            INSERT INTO audit_log (seq, at, actor, action, target, model, before_value, after_value, request_id, reason, credential, client_address, prev_hash, hash)
            VALUES (\(bind: seq), \(bind: at), \(bind: change.actor), \(bind: action), \(bind: target), \(bind: model),
              \(bind: before), \(bind: after), \(bind: change.requestID), \(bind: change.reason), \(bind: change.credential), \(bind: change.clientAddress),
              \(bind: prev), \(bind: hash))
            """).run()
        try await db.raw("UPDATE audit_head SET hash = \(bind: hash) WHERE id = 1").run()
    }

    /// Recomputes every entry's hash and link, in pages, from the first entry up to the chain
    /// head read first: entries appended while verifying are left for the next run, so a busy
    /// log verifies without false alarms.
    static func verify(_ backend: any SQLBackend) async throws -> AuditVerification {
        let head = try await backend.read { db in try await db.raw("SELECT seq, hash FROM audit_head WHERE id = 1").first() }
        guard let head else { throw VesselError.internalError("the audit chain head is missing") }
        let headSeq = try head.decode(column: "seq", as: Int64.self)
        let headHash = try head.decode(column: "hash", as: String.self)
        var expectedSeq: Int64 = 1
        var prev = genesisHash
        while expectedSeq <= headSeq {
            let from = expectedSeq
            let rows = try await backend.read { db in
                try await db.raw("SELECT * FROM audit_log WHERE seq >= \(bind: from) AND seq <= \(bind: headSeq) ORDER BY seq LIMIT 1000").all()
            }
            if rows.isEmpty { break }
            for row in rows {
                let entry = try AuditEntry.decode(row)
                if entry.seq != expectedSeq {
                    return AuditVerification(ok: false, entries: expectedSeq - 1, brokenAt: expectedSeq, reason: "entry \(expectedSeq) is missing (next is \(entry.seq))")
                }
                if entry.prevHash != prev {
                    return AuditVerification(ok: false, entries: expectedSeq - 1, brokenAt: entry.seq, reason: "entry \(entry.seq) does not link to entry \(entry.seq - 1)")
                }
                let recomputed = hash(canonicalBytes(seq: entry.seq, at: entry.at, actor: entry.actor, action: entry.action, target: entry.target, model: entry.model, before: entry.before, after: entry.after, requestID: entry.requestID, reason: entry.reason, credential: entry.credential, clientAddress: entry.clientAddress, prevHash: entry.prevHash))
                if recomputed != entry.hash {
                    return AuditVerification(ok: false, entries: expectedSeq - 1, brokenAt: entry.seq, reason: "entry \(entry.seq) was changed after it was written (its hash does not match its fields)")
                }
                prev = entry.hash
                expectedSeq += 1
            }
        }
        if expectedSeq - 1 != headSeq || prev != headHash {
            return AuditVerification(ok: false, entries: expectedSeq - 1, brokenAt: expectedSeq, reason: "the chain head does not match the last entry: entries were removed from the end")
        }
        return AuditVerification(ok: true, entries: headSeq, brokenAt: nil, reason: nil)
    }
}

extension AuditEntry {
    static func decode(_ row: any SQLRow) throws -> AuditEntry {
        AuditEntry(
            seq: try row.decode(column: "seq", as: Int64.self),
            at: try row.decode(column: "at", as: Int64.self),
            actor: try row.decode(column: "actor", as: String.self),
            action: try row.decode(column: "action", as: String.self),
            target: try row.decode(column: "target", as: String.self),
            model: try row.decode(column: "model", as: String?.self),
            before: try row.decode(column: "before_value", as: String?.self),
            after: try row.decode(column: "after_value", as: String?.self),
            requestID: try row.decode(column: "request_id", as: String?.self),
            reason: try row.decode(column: "reason", as: String?.self),
            prevHash: try row.decode(column: "prev_hash", as: String.self),
            hash: try row.decode(column: "hash", as: String.self),
            credential: (try? row.decode(column: "credential", as: String?.self)) ?? nil,
            clientAddress: (try? row.decode(column: "client_address", as: String?.self)) ?? nil
        )
    }
}

/// Who is making a change, for the audit log and events.
public struct ChangeContext: Sendable {
    public var actor: String
    public var requestID: String?
    /// Why the actor made the change, recorded in the audit entry.
    public var reason: String?
    /// What the request was authenticated with (`token`, `certificate <identity>`), for the audit entry.
    public var credential: String?
    /// The client's address, for the audit entry.
    public var clientAddress: String?
    public init(actor: String, requestID: String?, reason: String? = nil, credential: String? = nil, clientAddress: String? = nil) {
        self.actor = actor
        self.requestID = requestID
        self.reason = reason
        self.credential = credential
        self.clientAddress = clientAddress
    }
}
