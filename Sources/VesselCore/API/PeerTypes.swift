import Foundation

/// Peer-to-peer blob sharing (issue 30, docs/peers.md): nodes that hold blobs announce them to
/// the registry, pulls ask the registry which live peers hold a blob, fetch pieces from them
/// with a ticket the registry signed, and check every piece against the digests the registry
/// keeps. The wire contract shared by the registry's routes and the peers' HTTP.

/// The constants of the protocol, in one place for both sides.
public enum PeerProtocol {
    /// The size of a blob's pieces: 64 MiB (the last piece is shorter). Decision 0029.
    public static let pieceSize: Int64 = 64 << 20
    /// How long an announcement lives when it names no `ttl_seconds`.
    public static let defaultTTLSeconds = 60
    /// The `ttl_seconds` an announcement may ask for.
    public static let ttlRange: ClosedRange<Int> = 5...3600
    /// The most peers one `sources` answer names.
    public static let maxSources = 16
    /// How long a ticket is good for after it is issued, in seconds.
    public static let ticketLifetimeSeconds = 300
    /// How far a peer's clock may be behind the registry's when it checks a ticket's `exp`.
    public static let ticketSkewSeconds = 30
    /// How long a reported peer is left out of `sources` answers, in seconds.
    public static let suspectSeconds = 600
    /// How long an origin lease lives after it is taken or renewed, in seconds (its holder
    /// renews it every third of that while its download runs).
    public static let originLeaseSeconds = 60
    /// The most blobs one announcement may name.
    public static let maxAnnouncedBlobs = 100_000
    /// A peer never refetches the registry's ticket keys more often than this, in seconds.
    public static let keyRefetchSeconds = 60
}

/// Peer ids: what `PUT /api/v1/peers/:peer` names.
public enum PeerID {
    /// - Throws: `invalid_argument` unless `text` matches `[a-z0-9][a-z0-9._-]{0,62}`.
    public static func validate(_ text: String) throws(VesselError) {
        let bytes = Array(text.utf8)
        func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) }
        let valid = !bytes.isEmpty && bytes.count <= 63 && alnum(bytes[0])
            && bytes.dropFirst().allSatisfy { alnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
        guard valid else {
            throw .invalidArgument("peer id '\(text.prefix(64))' must be 1-63 characters of lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
    }
}

/// `PUT /api/v1/peers/:peer`: a peer says where it listens and which blobs it holds.
public struct PeerAnnouncement: Codable, Sendable, Equatable {
    /// Where the peer serves blobs: `http://host:port` (or `https://`), no path, query or
    /// credentials.
    public var url: String
    /// Every blob the peer holds (the full set: it replaces the previous announcement's).
    public var blobs: [Digest]
    /// How long the announcement lives: 5…3600 seconds, 60 when absent. A peer announces
    /// again before it runs out; one that stops is forgotten.
    public var ttlSeconds: Int?

    public init(url: String, blobs: [Digest], ttlSeconds: Int? = nil) {
        self.url = url
        self.blobs = blobs
        self.ttlSeconds = ttlSeconds
    }

    enum CodingKeys: String, CodingKey {
        case url, blobs
        case ttlSeconds = "ttl_seconds"
    }

    /// The announcement's lifetime in seconds.
    public var ttl: Int { ttlSeconds ?? PeerProtocol.defaultTTLSeconds }

    /// - Throws: `invalid_argument` naming the first thing wrong.
    public func validate() throws(VesselError) {
        guard PeerProtocol.ttlRange.contains(ttl) else {
            throw .invalidArgument("ttl_seconds must be within \(PeerProtocol.ttlRange.lowerBound)-\(PeerProtocol.ttlRange.upperBound)")
        }
        try Self.validate(url: url)
    }

    /// - Throws: `invalid_argument` unless `url` is `http(s)://host[:port]` with at most a
    ///   trailing `/`.
    public static func validate(url: String) throws(VesselError) {
        let bad = VesselError.invalidArgument("url '\(url.prefix(128))' must look like http://host:port")
        guard url.hasPrefix("http://") || url.hasPrefix("https://"),
              let parts = URLComponents(string: url), let host = parts.host, !host.isEmpty,
              parts.user == nil, parts.password == nil, parts.query == nil, parts.fragment == nil,
              parts.path.isEmpty || parts.path == "/" else { throw bad }
    }
}

extension PeerAnnouncement: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(url, field: "url", max: Limits.url)
        guard blobs.count <= PeerProtocol.maxAnnouncedBlobs else {
            throw .invalidArgument("blobs has \(blobs.count) entries; the limit is \(PeerProtocol.maxAnnouncedBlobs)")
        }
    }
}

/// A peer as the registry knows it (`PUT`'s answer, `GET /api/v1/peers`' items).
public struct PeerInfo: Codable, Sendable, Equatable {
    public var id: String
    public var url: String
    /// The principal that announced it; only it (or an admin) may change or remove it.
    public var principal: String
    /// How many blobs it announced.
    public var blobs: Int
    /// RFC 3339: when the announcement runs out.
    public var expiresAt: String
    /// RFC 3339: until when it is left out of `sources` answers after a report; null when it
    /// is not suspect.
    public var suspectUntil: String?

    public init(id: String, url: String, principal: String, blobs: Int, expiresAt: String, suspectUntil: String? = nil) {
        self.id = id
        self.url = url
        self.principal = principal
        self.blobs = blobs
        self.expiresAt = expiresAt
        self.suspectUntil = suspectUntil
    }

    enum CodingKeys: String, CodingKey {
        case id, url, principal, blobs
        case expiresAt = "expires_at"
        case suspectUntil = "suspect_until"
    }
}

/// A peer named in a `sources` answer.
public struct PeerEndpoint: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var url: String

    public init(id: String, url: String) {
        self.id = id
        self.url = url
    }
}

/// `GET /api/v1/models/:owner/:name/blobs/:digest/sources`: where a blob can be fetched from
/// besides the registry, and how to check each piece.
public struct BlobSources: Codable, Sendable, Equatable {
    public var digest: Digest
    public var size: Int64
    /// The size of every piece but the last (`PeerProtocol.pieceSize`).
    public var pieceSize: Int64
    /// The hex SHA-256 of each piece, in order: piece `i` covers bytes
    /// `i * piece_size ..< min((i + 1) * piece_size, size)`. An empty blob has no pieces.
    public var pieces: [String]
    /// Live peers that hold the blob and are not suspect: at most 16, shuffled.
    public var peers: [PeerEndpoint]
    /// A `PeerTicket` the registry signed for this model and blob (`Authorization: Ticket …`
    /// on a peer).
    public var ticket: String
    /// RFC 3339: when the ticket runs out.
    public var ticketExpiresAt: String
    /// Only in answers to `POST …/sources` with `lease_for`, while no peer holds the blob: who
    /// fetches it from the origin (`yours`: the caller's peer). Null otherwise.
    public var originLease: OriginLease?

    public init(digest: Digest, size: Int64, pieceSize: Int64, pieces: [String], peers: [PeerEndpoint], ticket: String, ticketExpiresAt: String,
                originLease: OriginLease? = nil) {
        self.digest = digest
        self.size = size
        self.pieceSize = pieceSize
        self.pieces = pieces
        self.peers = peers
        self.ticket = ticket
        self.ticketExpiresAt = ticketExpiresAt
        self.originLease = originLease
    }

    enum CodingKeys: String, CodingKey {
        case digest, size, pieces, peers, ticket
        case pieceSize = "piece_size"
        case ticketExpiresAt = "ticket_expires_at"
        case originLease = "origin_lease"
    }

    /// The byte range of piece `index`.
    public func range(ofPiece index: Int) -> Range<Int64> {
        let start = Int64(index) * pieceSize
        return start..<min(start + pieceSize, size)
    }

    /// How many pieces a blob of `size` bytes has in pieces of `pieceSize`.
    public static func pieceCount(size: Int64, pieceSize: Int64) -> Int {
        size <= 0 ? 0 : Int((size + pieceSize - 1) / pieceSize)
    }
}

/// `POST …/blobs/:digest/sources` `{"lease_for": PEER}`: the caller's puller, on behalf of its
/// live peer `lease_for`, asks where the blob is and, when no peer holds it, for the origin
/// lease (docs/peers.md "Origin leases", decision 0037).
public struct SourcesRequest: Codable, Sendable, Equatable {
    /// A live peer of the caller's principal that will serve the blob once it has it.
    public var leaseFor: String

    public init(leaseFor: String) { self.leaseFor = leaseFor }

    enum CodingKeys: String, CodingKey {
        case leaseFor = "lease_for"
    }
}

/// Who fetches a blob no peer holds from the origin, while the lease lives.
public struct OriginLease: Codable, Sendable, Equatable {
    /// The holder's peer id.
    public var holder: String
    /// RFC 3339: when the lease runs out unless its holder renews it.
    public var expiresAt: String
    /// The lease is the caller's (`lease_for` is its holder): fetch the blob from the origin,
    /// renew it every third of its life, release it on failure.
    public var yours: Bool

    public init(holder: String, expiresAt: String, yours: Bool) {
        self.holder = holder
        self.expiresAt = expiresAt
        self.yours = yours
    }

    enum CodingKeys: String, CodingKey {
        case holder, yours
        case expiresAt = "expires_at"
    }
}

/// What a ticket says: the registry allows its holder to fetch `digest` (of `model`) from a
/// peer until `exp`. Signed with the registry's Ed25519 key `kid` (VesselSigning's
/// `PeerTickets`).
public struct PeerTicket: Codable, Sendable, Equatable {
    /// The id of the registry key that signed it (`TicketKeys`).
    public var kid: String
    /// `owner/name`.
    public var model: String
    public var digest: Digest
    /// Unix seconds: when the ticket runs out.
    public var exp: Int

    public init(kid: String, model: String, digest: Digest, exp: Int) {
        self.kid = kid
        self.model = model
        self.digest = digest
        self.exp = exp
    }
}

/// One of the registry's ticket keys.
public struct TicketKey: Codable, Sendable, Equatable {
    public var kid: String
    /// The raw 32-byte Ed25519 public key, base64 (standard alphabet, padded).
    public var publicKey: String

    public init(kid: String, publicKey: String) {
        self.kid = kid
        self.publicKey = publicKey
    }

    enum CodingKeys: String, CodingKey {
        case kid
        case publicKey = "public_key"
    }
}

/// `GET /api/v1/peers/ticket-keys`: the keys tickets are signed with.
public struct TicketKeys: Codable, Sendable, Equatable {
    public var keys: [TicketKey]

    public init(keys: [TicketKey]) { self.keys = keys }
}

/// `POST /api/v1/peers/:peer/reports`: a peer served bytes that did not match.
public struct PeerReport: Codable, Sendable, Equatable {
    /// The blob whose piece did not match.
    public var digest: Digest
    public var reason: String

    public init(digest: Digest, reason: String) {
        self.digest = digest
        self.reason = reason
    }
}

extension PeerReport: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(reason, field: "reason", max: Limits.reason)
    }
}
