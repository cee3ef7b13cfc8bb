import Foundation
import SQLKit
import VesselCore

/// Peers, their blobs, blob pieces and the ticket key (`PeerStore`, migration 19).
extension SQLMetadataStore: PeerStore {
    /// Rows per `INSERT` of announced blobs (two parameters each, well under SQLite's limit).
    static let peerBlobBatch = 400

    public func announcePeer(id: String, _ announcement: PeerAnnouncement, principal: String) async throws -> PeerInfo {
        try PeerID.validate(id)
        try announcement.validate()
        let now = clock()
        let expires = now + Int64(announcement.ttl) * 1_000_000
        let blobs = Array(Set(announcement.blobs.map(\.description))).sorted()
        return try await write { db -> PeerInfo in
            try await Self.removeExpiredPeers(db, now: now)
            try await db.raw("""
                INSERT INTO peers (id, url, principal, blobs, announced_at, expires_at)
                VALUES (\(bind: id), \(bind: announcement.url), \(bind: principal), 0, \(bind: now), \(bind: expires))
                ON CONFLICT (id) DO NOTHING
                """).run()
            let owner = try await db.raw("SELECT principal FROM peers WHERE id = \(bind: id)").first()?.decode(column: "principal", as: String.self)
            guard owner == principal else {
                throw VesselError.forbidden("peer '\(id)' was announced by another principal; announce under another id")
            }
            try await db.raw("""
                UPDATE peers SET url = \(bind: announcement.url), blobs = \(bind: Int64(blobs.count)), announced_at = \(bind: now), expires_at = \(bind: expires)
                WHERE id = \(bind: id)
                """).run()
            try await db.raw("DELETE FROM peer_blobs WHERE peer_id = \(bind: id)").run()
            var start = 0
            while start < blobs.count {
                let batch = blobs[start..<min(start + Self.peerBlobBatch, blobs.count)]
                var query = SQLQueryString("INSERT INTO peer_blobs (digest, peer_id) VALUES ")
                for (index, digest) in batch.enumerated() {
                    if index > 0 { query.appendLiteral(", ") }
                    query.appendInterpolation(unsafeRaw: "(")
                    query.appendInterpolation(bind: digest)
                    query.appendInterpolation(unsafeRaw: ", ")
                    query.appendInterpolation(bind: id)
                    query.appendInterpolation(unsafeRaw: ")")
                }
                try await db.raw(query).run()
                start += Self.peerBlobBatch
            }
            guard let row = try await db.raw("\(unsafeRaw: Self.peerQuery) WHERE id = \(bind: id)").first() else {
                throw VesselError.internalError("peer '\(id)' vanished while it was announced")
            }
            return try Self.peerInfo(row, now: now)
        }
    }

    public func removePeer(id: String, principal: String, asAdmin: Bool) async throws {
        try PeerID.validate(id)
        let now = clock()
        try await write { db in
            let owner = try await db.raw("SELECT principal FROM peers WHERE id = \(bind: id) AND expires_at >= \(bind: now)").first()?
                .decode(column: "principal", as: String.self)
            guard let owner else { throw VesselError.notFound("no live peer '\(id)'") }
            guard owner == principal || asAdmin else {
                throw VesselError.forbidden("peer '\(id)' was announced by another principal; only it or an admin may remove it")
            }
            try await db.raw("DELETE FROM peer_blobs WHERE peer_id = \(bind: id)").run()
            try await db.raw("DELETE FROM peers WHERE id = \(bind: id)").run()
        }
    }

    public func livePeers() async throws -> [PeerInfo] {
        let now = clock()
        return try await backend.read { db in
            try await db.raw("\(unsafeRaw: Self.peerQuery) WHERE expires_at >= \(bind: now) ORDER BY id").all().map { try Self.peerInfo($0, now: now) }
        }
    }

    public func livePeerCount() async throws -> Int {
        let now = clock()
        return try await backend.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM peers WHERE expires_at >= \(bind: now)").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    public func peerSources(of digest: Digest, limit: Int) async throws -> [PeerEndpoint] {
        let now = clock()
        let all = try await backend.read { db in
            try await db.raw("""
                SELECT p.id, p.url FROM peer_blobs b JOIN peers p ON p.id = b.peer_id
                WHERE b.digest = \(bind: digest.description) AND p.expires_at >= \(bind: now)
                  AND (p.suspect_until IS NULL OR p.suspect_until <= \(bind: now))
                """).all().map { PeerEndpoint(id: try $0.decode(column: "id", as: String.self), url: try $0.decode(column: "url", as: String.self)) }
        }
        return Array(all.shuffled().prefix(limit))
    }

    public func reportPeer(id: String, _ report: PeerReport, change: ChangeContext) async throws -> PeerInfo {
        try PeerID.validate(id)
        let now = clock()
        let until = now + Int64(PeerProtocol.suspectSeconds) * 1_000_000
        return try await write { db -> PeerInfo in
            guard try await db.raw("SELECT id FROM peers WHERE id = \(bind: id) AND expires_at >= \(bind: now)").first() != nil else {
                throw VesselError.notFound("no live peer '\(id)'")
            }
            try await db.raw("UPDATE peers SET suspect_until = \(bind: until) WHERE id = \(bind: id)").run()
            try await self.audit(db, change, at: now, action: "peer.reported", target: "peer/\(id)", model: nil, after: report.digest.description)
            guard let row = try await db.raw("\(unsafeRaw: Self.peerQuery) WHERE id = \(bind: id)").first() else {
                throw VesselError.internalError("peer '\(id)' vanished while it was reported")
            }
            return try Self.peerInfo(row, now: now)
        }
    }

    public func blobPieces(of digest: Digest, pieceSize: Int64) async throws -> [String]? {
        let stored = try await backend.read { db in
            try await db.raw("SELECT pieces FROM blob_pieces WHERE digest = \(bind: digest.description) AND piece_size = \(bind: pieceSize)").first()?
                .decode(column: "pieces", as: String.self)
        }
        return try stored.map { try Self.decodeJSON([String].self, $0) }
    }

    public func recordBlobPieces(of digest: Digest, pieceSize: Int64, pieces: [String]) async throws {
        let text = try Self.encodeJSON(pieces)
        try await write { db in
            try await db.raw("""
                INSERT INTO blob_pieces (digest, piece_size, pieces) VALUES (\(bind: digest.description), \(bind: pieceSize), \(bind: text))
                ON CONFLICT (digest) DO NOTHING
                """).run()
        }
    }

    public func peerTicketKey(making make: @Sendable () -> Data) async throws -> Data {
        let select = "SELECT value FROM vessel_secrets WHERE name = 'peer_ticket'"
        var stored = try await backend.read { db in
            try await db.raw(SQLQueryString(select)).first().map { try $0.decode(column: "value", as: String.self) }
        }
        if stored == nil {
            let made = make().base64EncodedString()
            stored = try await backend.transaction { db in
                try await db.raw("INSERT INTO vessel_secrets (name, value) VALUES ('peer_ticket', \(bind: made)) ON CONFLICT (name) DO NOTHING").run()
                return try await db.raw(SQLQueryString(select)).first().map { try $0.decode(column: "value", as: String.self) }
            }
        }
        guard let stored, let bytes = Data(base64Encoded: stored), bytes.count == 32 else {
            throw VesselError.internalError("the peer ticket key in the metadata database is damaged")
        }
        return bytes
    }

    public func takeOriginLease(of digest: Digest, for peer: String, principal: String, seconds: Int) async throws -> OriginLease? {
        try PeerID.validate(peer)
        let now = clock()
        let expires = now + Int64(seconds) * 1_000_000
        let key = digest.description
        return try await write { db -> OriginLease? in
            try await Self.requireOwnLivePeer(db, peer, principal: principal, now: now)
            let held = try await db.raw("""
                SELECT p.id FROM peer_blobs b JOIN peers p ON p.id = b.peer_id
                WHERE b.digest = \(bind: key) AND p.expires_at >= \(bind: now)
                  AND (p.suspect_until IS NULL OR p.suspect_until <= \(bind: now))
                LIMIT 1
                """).first()
            if held != nil { return nil }
            // The live lease of another peer (a holder whose announcement ran out holds nothing).
            if let row = try await db.raw("""
                SELECT l.holder, l.expires_at FROM blob_origin_leases l JOIN peers p ON p.id = l.holder
                WHERE l.digest = \(bind: key) AND l.holder <> \(bind: peer) AND l.expires_at >= \(bind: now) AND p.expires_at >= \(bind: now)
                """).first() {
                return OriginLease(holder: try row.decode(column: "holder", as: String.self),
                                   expiresAt: Timestamp.rfc3339(micros: try row.decode(column: "expires_at", as: Int64.self)), yours: false)
            }
            try await db.raw("""
                INSERT INTO blob_origin_leases (digest, holder, expires_at) VALUES (\(bind: key), \(bind: peer), \(bind: expires))
                ON CONFLICT (digest) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE blob_origin_leases.holder = excluded.holder OR blob_origin_leases.expires_at < \(bind: now)
                   OR NOT EXISTS (SELECT 1 FROM peers p WHERE p.id = blob_origin_leases.holder AND p.expires_at >= \(bind: now))
                """).run()
            // Replicas racing (PostgreSQL, read committed): the conditional update takes the lease
            // for one of them; the row says which.
            guard let row = try await db.raw("SELECT holder, expires_at FROM blob_origin_leases WHERE digest = \(bind: key)").first() else {
                throw VesselError.internalError("the origin lease of \(key) vanished while it was taken")
            }
            let holder = try row.decode(column: "holder", as: String.self)
            return OriginLease(holder: holder, expiresAt: Timestamp.rfc3339(micros: try row.decode(column: "expires_at", as: Int64.self)), yours: holder == peer)
        }
    }

    public func releaseOriginLease(of digest: Digest, for peer: String, principal: String) async throws {
        try PeerID.validate(peer)
        let now = clock()
        try await write { db in
            try await Self.requireOwnLivePeer(db, peer, principal: principal, now: now)
            try await db.raw("DELETE FROM blob_origin_leases WHERE digest = \(bind: digest.description) AND holder = \(bind: peer)").run()
        }
    }

    /// - Throws: `forbidden` unless `peer` is live and `principal` announced it.
    static func requireOwnLivePeer(_ db: any SQLDatabase, _ peer: String, principal: String, now: Int64) async throws {
        let owner = try await db.raw("SELECT principal FROM peers WHERE id = \(bind: peer) AND expires_at >= \(bind: now)").first()?
            .decode(column: "principal", as: String.self)
        guard owner == principal else {
            throw VesselError.forbidden("lease_for '\(peer)' is not a live peer announced by \(principal)")
        }
    }

    static let peerQuery = "SELECT id, url, principal, blobs, expires_at, suspect_until FROM peers"

    static func peerInfo(_ row: any SQLRow, now: Int64) throws -> PeerInfo {
        let suspect = try row.decode(column: "suspect_until", as: Int64?.self).flatMap { $0 > now ? Timestamp.rfc3339(micros: $0) : nil }
        return PeerInfo(id: try row.decode(column: "id", as: String.self), url: try row.decode(column: "url", as: String.self),
                        principal: try row.decode(column: "principal", as: String.self), blobs: Int(try row.decode(column: "blobs", as: Int64.self)),
                        expiresAt: Timestamp.rfc3339(micros: try row.decode(column: "expires_at", as: Int64.self)), suspectUntil: suspect)
    }

    /// Peers whose announcement ran out are forgotten with their blobs (lazily, by the next
    /// announcement; every read leaves them out meanwhile).
    static func removeExpiredPeers(_ db: any SQLDatabase, now: Int64) async throws {
        try await db.raw("DELETE FROM peer_blobs WHERE peer_id IN (SELECT id FROM peers WHERE expires_at < \(bind: now))").run()
        try await db.raw("DELETE FROM peers WHERE expires_at < \(bind: now)").run()
    }
}
