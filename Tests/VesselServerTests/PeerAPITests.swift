import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer
import VesselSigning

/// A clock the peer tests move by hand (microseconds since the epoch).
final class PeerTestClock: Sendable {
    private let now = Atomic<Int64>(Timestamp.micros(Date()))
    func callAsFunction() -> Int64 { now.load(ordering: .relaxed) }
    func advance(seconds: Int64) { now.add(seconds * 1_000_000, ordering: .relaxed) }
}

/// Peer-to-peer blob sharing through the HTTP API (issue 30, docs/peers.md): announcements,
/// sources with piece digests and a ticket, the ticket keys, reports, permissions.
@Suite struct PeerAPITests {
    static let weights: [UInt8] = Array(repeating: 7, count: 1000) + Array(0..<200)
    static let other: [UInt8] = Array(repeating: 9, count: 64)

    struct Answer {
        let status: HTTPResponse.Status
        let body: ByteBuffer
        var object: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]) ?? [:] }
        var code: String? { (object["error"] as? [String: Any])?["code"] as? String }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: Data(buffer: body)) }
    }

    static func call(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ headers: HTTPFields = APIHarness.auth, body: ByteBuffer? = nil) async throws -> Answer {
        try await client.execute(uri: uri, method: method, headers: headers + [.contentType: "application/json"], body: body) { Answer(status: $0.status, body: $0.body) }
    }

    static func announce(_ client: any TestClientProtocol, _ id: String, _ blobs: [VesselCore.Digest], port: Int = 7001, ttl: Int? = nil, _ headers: HTTPFields = APIHarness.auth) async throws -> Answer {
        try await call(client, .put, "/api/v1/peers/\(id)", headers, body: APIHarness.json(PeerAnnouncement(url: "http://127.0.0.1:\(port)", blobs: blobs, ttlSeconds: ttl)))
    }

    static func sources(_ client: any TestClientProtocol, _ digest: VesselCore.Digest, model: String = "acme/m", _ headers: HTTPFields = APIHarness.auth) async throws -> Answer {
        try await call(client, .get, "/api/v1/models/\(model)/blobs/\(digest)/sources", headers)
    }

    static func withPushed(_ body: @Sendable (APIHarness, any TestClientProtocol, PeerTestClock) async throws -> Void) async throws {
        let clock = PeerTestClock()
        try await APIHarness.with(clock: { clock() }) { harness, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["w.safetensors": weights])
            _ = try await APIHarness.push(client, model: "acme/other", files: ["x.bin": other])
            try await body(harness, client, clock)
        }
    }

    /// Announce, then sources: the peer, one piece digest (the blob's SHA-256: a blob under
    /// 64 MiB is one piece), kept since the upload (decision 0038), and a ticket that
    /// verifies with the published key.
    @Test func sourcesNameLivePeersPiecesAndATicket() async throws {
        try await Self.withPushed { harness, client, clock in
            let digest = APIHarness.digest(Self.weights)
            // The upload kept the pieces; with no peer holding the blob the answer lists none.
            #expect(try await harness.registry.store.blobPieces(of: digest, pieceSize: PeerProtocol.pieceSize) == [digest.hex])
            let alone = try await Self.sources(client, digest).decode(BlobSources.self)
            #expect(alone.peers.isEmpty && alone.pieces.isEmpty)

            let announced = try await Self.announce(client, "node-a", [digest, APIHarness.digest(Self.other)])
            #expect(announced.status == .ok, "\(announced.object)")
            #expect(Set(announced.object.keys) == ["id", "url", "principal", "blobs", "expires_at", "suspect_until"], "\(announced.object.keys.sorted())")
            let info = try announced.decode(PeerInfo.self)
            #expect(info.id == "node-a" && info.principal == "admin" && info.blobs == 2 && info.url == "http://127.0.0.1:7001")

            let answer = try await Self.sources(client, digest)
            #expect(answer.status == .ok, "\(answer.object)")
            #expect(Set(answer.object.keys) == ["digest", "size", "piece_size", "pieces", "peers", "ticket", "ticket_expires_at", "origin_lease"])
            let sources = try answer.decode(BlobSources.self)
            #expect(sources.digest == digest && sources.size == Int64(Self.weights.count) && sources.pieceSize == 64 << 20)
            #expect(sources.pieces == [digest.hex])
            #expect(sources.peers == [PeerEndpoint(id: "node-a", url: "http://127.0.0.1:7001")])
            #expect(try await harness.registry.store.blobPieces(of: digest, pieceSize: PeerProtocol.pieceSize) == [digest.hex])

            let keys = try await Self.call(client, .get, "/api/v1/peers/ticket-keys").decode(TicketKeys.self)
            #expect(keys.keys.count == 1 && Data(base64Encoded: keys.keys[0].publicKey)?.count == 32)
            let now = Date(timeIntervalSince1970: Double(clock()) / 1e6)
            let payload = try PeerTickets.verify(sources.ticket, keys: keys.keys, digest: digest, now: now)
            #expect(payload.model == "acme/m" && payload.digest == digest && payload.kid == keys.keys[0].kid)
            #expect(payload.exp == Int(clock() / 1_000_000) + 300)
            #expect(sources.ticketExpiresAt == Timestamp.rfc3339(micros: Int64(payload.exp) * 1_000_000))
        }
    }

    /// `vessel_peers_live` follows announcements and withdrawals without anyone listing peers.
    @Test func theLivePeerGaugeFollowsAnnouncements() async throws {
        @Sendable func gauge(_ client: any TestClientProtocol) async throws -> String? {
            let text = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            return text.split(separator: "\n").first { $0.hasPrefix("vessel_peers_live ") }.map(String.init)
        }
        try await Self.withPushed { _, client, clock in
            let digest = APIHarness.digest(Self.weights)
            let first = try await Self.announce(client, "gpu-1", [digest])
            #expect(first.status == .ok)
            #expect(try await Self.announce(client, "gpu-2", [digest], port: 7002, ttl: 5).status == .ok)
            let two = try await gauge(client)
            #expect(two == "vessel_peers_live 2.0", "\(String(describing: two))")
            #expect(try await Self.call(client, .delete, "/api/v1/peers/gpu-1").status == .noContent)
            #expect(try await gauge(client) == "vessel_peers_live 1.0")
            // gpu-2's 5 s run out; the next announcement of any peer counts it gone.
            clock.advance(seconds: 6)
            #expect(try await Self.announce(client, "gpu-3", [digest], port: 7003).status == .ok)
            #expect(try await gauge(client) == "vessel_peers_live 1.0")
        }
    }

    /// A ticket fails when altered, expired, for another digest, or signed by another key.
    @Test func aTicketFailsWhenAlteredExpiredOrForAnotherDigest() async throws {
        try await Self.withPushed { _, client, clock in
            let digest = APIHarness.digest(Self.weights)
            let ticket = try await Self.sources(client, digest).decode(BlobSources.self).ticket
            let keys = try await Self.call(client, .get, "/api/v1/peers/ticket-keys").decode(TicketKeys.self).keys
            let raw = try #require(Data(base64Encoded: keys[0].publicKey))
            let now = Date(timeIntervalSince1970: Double(clock()) / 1e6)
            #expect(try PeerTickets.verify(ticket, publicKey: raw, digest: digest, now: now).digest == digest)

            // Another digest in a re-encoded payload under the old signature.
            let parts = ticket.split(separator: ".")
            let parsed = try PeerTickets.parse(ticket)
            var forged = parsed.payload
            forged.digest = APIHarness.digest(Self.other)
            let forgedPayload = try JSONEncoder().encode(forged).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(throws: PeerTicketError.badSignature) { try PeerTickets.verify("\(forgedPayload).\(parts[1])", publicKey: raw, digest: forged.digest, now: now) }
            // One flipped character of the signature.
            var signature = Array(parts[1])
            signature[5] = signature[5] == "A" ? "B" : "A"
            #expect(throws: PeerTicketError.badSignature) { try PeerTickets.verify("\(parts[0]).\(String(signature))", publicKey: raw, digest: digest, now: now) }
            #expect(throws: PeerTicketError.wrongDigest) { try PeerTickets.verify(ticket, publicKey: raw, digest: APIHarness.digest(Self.other), now: now) }
            // 5 minutes plus the 30 s skew: still good; a second later: expired.
            #expect(try PeerTickets.verify(ticket, publicKey: raw, digest: digest, now: now.addingTimeInterval(330)).digest == digest)
            #expect(throws: PeerTicketError.expired) { try PeerTickets.verify(ticket, publicKey: raw, digest: digest, now: now.addingTimeInterval(332)) }
            // Another registry's key.
            let stranger = try PeerTicketSigner(rawPrivateKey: PeerTicketSigner.generateRawKey())
            #expect(throws: PeerTicketError.unknownKey(kid: parsed.payload.kid)) {
                try PeerTickets.verify(ticket, keys: [stranger.ticketKey], digest: digest, now: now)
            }
            #expect(throws: PeerTicketError.malformed) { try PeerTickets.verify("garbage", keys: keys, digest: digest, now: now) }
            #expect(throws: PeerTicketError.malformed) { try PeerTickets.verify("\(parts[0])", keys: keys, digest: digest, now: now) }
        }
    }

    /// Expired peers are not answered; a reported one is not answered for ten minutes, the
    /// report is audited and counted.
    @Test func expiredAndReportedPeersAreNotAnswered() async throws {
        try await Self.withPushed { harness, client, clock in
            let digest = APIHarness.digest(Self.weights)
            #expect(try await Self.announce(client, "short", [digest], port: 7001, ttl: 5).status == .ok)
            #expect(try await Self.announce(client, "liar", [digest], port: 7002, ttl: 3600).status == .ok)
            #expect(try await Self.announce(client, "honest", [digest], port: 7003, ttl: 3600).status == .ok)
            #expect(Set(try await Self.sources(client, digest).decode(BlobSources.self).peers.map(\.id)) == ["short", "liar", "honest"])
            clock.advance(seconds: 6)
            #expect(Set(try await Self.sources(client, digest).decode(BlobSources.self).peers.map(\.id)) == ["liar", "honest"])

            let reported = try await Self.call(client, .post, "/api/v1/peers/liar/reports", body: APIHarness.json(PeerReport(digest: digest, reason: "piece 0 did not match")))
            #expect(reported.status == .noContent, "\(reported.object)")
            #expect(try await Self.sources(client, digest).decode(BlobSources.self).peers.map(\.id) == ["honest"])
            let audit = try await harness.registry.store.auditEntries(model: nil, limit: 1000, cursor: nil).items
            let entry = try #require(audit.first { $0.action == "peer.reported" })
            #expect(entry.target == "peer/liar" && entry.reason == "piece 0 did not match" && entry.after == digest.description)
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("vessel_peer_reports_total 1"), "\(metrics.split(separator: "\n").filter { $0.contains("peer") })")

            let listed = try await Self.call(client, .get, "/api/v1/peers")
            #expect(listed.status == .ok)
            let page = try listed.decode(Page<PeerInfo>.self)
            #expect(page.items.map(\.id) == ["honest", "liar"] && page.items[1].suspectUntil != nil && page.items[0].suspectUntil == nil)

            clock.advance(seconds: 601)
            #expect(Set(try await Self.sources(client, digest).decode(BlobSources.self).peers.map(\.id)) == ["liar", "honest"])
            let unknown = try await Self.call(client, .post, "/api/v1/peers/nobody/reports", body: APIHarness.json(PeerReport(digest: digest, reason: "x")))
            #expect(unknown.status == .notFound && unknown.code == "not_found")
        }
    }

    /// Bad ids are 400; another principal overwriting or removing a peer is 403; the owner and
    /// an admin may remove it; a blob the model does not hold is 404.
    @Test func idsOwnershipAndMembership() async throws {
        try await Self.withPushed { harness, client, _ in
            let digest = APIHarness.digest(Self.weights)
            for id in ["Upper", "-dash", "a%2Fb", String(repeating: "x", count: 64), "sp%20ace"] {
                let answer = try await Self.announce(client, id, [digest])
                #expect(answer.status == .badRequest && answer.code == "invalid_argument", "\(id): \(answer.object)")
            }
            let badTTL = try await Self.announce(client, "node", [digest], ttl: 4)
            #expect(badTTL.status == .badRequest && badTTL.code == "invalid_argument")
            let badURL = try await Self.call(client, .put, "/api/v1/peers/node", body: ByteBuffer(string: #"{"url":"file:///etc","blobs":[]}"#))
            #expect(badURL.status == .badRequest && badURL.code == "invalid_argument")
            let badDigest = try await Self.call(client, .put, "/api/v1/peers/node", body: ByteBuffer(string: #"{"url":"http://h:1","blobs":["md5:abc"]}"#))
            #expect(badDigest.status == .badRequest, "\(badDigest.object)")

            let alice = try await harness.principal("alice-agent", .viewer, scope: "acme/*")
            let mallory = try await harness.principal("mallory", .viewer, scope: "acme/*")
            let stranger = try await harness.principal("stranger", nil)
            #expect(try await Self.announce(client, "node-a", [digest], alice).status == .ok)
            let hijack = try await Self.announce(client, "node-a", [digest], port: 6666, mallory)
            #expect(hijack.status == .forbidden && hijack.code == "forbidden", "\(hijack.object)")
            let message = (hijack.object["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(!message.contains("alice"), "\(message)")
            #expect(try await Self.call(client, .delete, "/api/v1/peers/node-a", mallory).status == .forbidden)
            #expect(try await Self.sources(client, digest).decode(BlobSources.self).peers.map(\.url) == ["http://127.0.0.1:7001"])
            // A principal without any grant may announce (peers are node state), but not list.
            #expect(try await Self.announce(client, "node-s", [digest], stranger).status == .ok)
            #expect(try await Self.call(client, .get, "/api/v1/peers", alice).status == .forbidden)
            #expect(try await Self.call(client, .delete, "/api/v1/peers/node-a", alice).status == .noContent)
            #expect(try await Self.call(client, .delete, "/api/v1/peers/node-a", alice).status == .notFound)
            #expect(try await Self.call(client, .delete, "/api/v1/peers/node-s").status == .noContent)
            #expect(try await Self.call(client, .delete, "/api/v1/peers/Bad").status == .badRequest)

            // Sources: the blob must be in a live version of that model, and the model readable.
            let foreign = try await Self.sources(client, APIHarness.digest(Self.other))
            #expect(foreign.status == .notFound && foreign.code == "not_found", "\(foreign.object)")
            let unknown = try await Self.sources(client, APIHarness.digest([1, 2, 3]))
            #expect(unknown.status == .notFound)
            #expect(try await Self.sources(client, digest, stranger).status == .forbidden)
            #expect(try await Self.sources(client, digest, alice).status == .ok)
            #expect(try await Self.call(client, .get, "/api/v1/models/acme/m/blobs/sha256:zz/sources").status == .badRequest)
            // Without a token: 401 everywhere.
            for (method, uri) in [(HTTPRequest.Method.get, "/api/v1/peers/ticket-keys"), (.put, "/api/v1/peers/x"), (.get, "/api/v1/models/acme/m/blobs/\(digest)/sources")] {
                #expect(try await Self.call(client, method, uri, [:]).status == .unauthorized, "\(uri)")
            }
        }
    }

    /// A deleted version's blob has no sources.
    @Test func aDeletedVersionsBlobHasNoSources() async throws {
        try await Self.withPushed { _, client, _ in
            let digest = APIHarness.digest(Self.other)
            #expect(try await Self.sources(client, digest, model: "acme/other").status == .ok)
            let deleted = try await Self.call(client, .delete, "/api/v1/models/acme/other/versions/1")
            #expect(deleted.status == .ok || deleted.status == .noContent, "\(deleted.object)")
            #expect(try await Self.sources(client, digest, model: "acme/other").status == .notFound)
        }
    }

    /// Piece digests split a stream at piece boundaries whatever its chunks.
    @Test func pieceDigestsFollowPieceBoundaries() async throws {
        let bytes = (0..<1000).map { UInt8($0 % 251) }
        for chunkSize in [1, 7, 100, 333, 1000] {
            let chunks = stride(from: 0, to: bytes.count, by: chunkSize).map { ByteBuffer(bytes: bytes[$0..<min($0 + chunkSize, bytes.count)]) }
            let stream = AsyncStream<ByteBuffer> { continuation in
                for chunk in chunks { continuation.yield(chunk) }
                continuation.finish()
            }
            let pieces = try await PieceDigests.compute(stream, pieceSize: 300)
            let expected = stride(from: 0, to: 1000, by: 300).map { VesselCore.Digest(bytes: SHA256.hash(data: bytes[$0..<min($0 + 300, 1000)])).hex }
            #expect(pieces == expected && pieces.count == 4, "chunks of \(chunkSize)")
        }
        #expect(BlobSources.pieceCount(size: 1000, pieceSize: 300) == 4 && BlobSources.pieceCount(size: 900, pieceSize: 300) == 3)
        #expect(BlobSources.pieceCount(size: 0, pieceSize: 300) == 0)
    }

    static func leased(_ client: any TestClientProtocol, _ digest: VesselCore.Digest, for peer: String, _ headers: HTTPFields = APIHarness.auth) async throws -> Answer {
        try await call(client, .post, "/api/v1/models/acme/m/blobs/\(digest)/sources", headers, body: ByteBuffer(string: #"{"lease_for":"\#(peer)"}"#))
    }

    /// Origin leases (decision 0037): the first caller asking on behalf of its live peer gets
    /// the lease, the second is told who holds it; expired, it goes to the next asker; given up,
    /// at once; none once a peer holds the blob; the GET (old clients) never carries one; a bad
    /// id is 400, a peer not live or of another principal 403.
    @Test func originLeases() async throws {
        try await Self.withPushed { harness, client, clock in
            let digest = APIHarness.digest(Self.weights)
            #expect(try await Self.announce(client, "node-a", [], port: 7001, ttl: 300).status == .ok)
            #expect(try await Self.announce(client, "node-b", [], port: 7002, ttl: 300).status == .ok)

            let first = try await Self.leased(client, digest, for: "node-a")
            #expect(first.status == .ok, "\(first.object)")
            let lease = try first.decode(BlobSources.self).originLease
            #expect(lease?.holder == "node-a" && lease?.yours == true)
            #expect(lease?.expiresAt == Timestamp.rfc3339(micros: clock() + 60_000_000))
            let second = try await Self.leased(client, digest, for: "node-b").decode(BlobSources.self)
            #expect(second.originLease == OriginLease(holder: "node-a", expiresAt: lease?.expiresAt ?? "", yours: false))
            #expect(second.peers.isEmpty && !second.ticket.isEmpty)
            // The GET (old clients) never takes or shows a lease: `origin_lease` is null.
            let plain = try await Self.sources(client, digest)
            #expect(plain.status == .ok && plain.object["origin_lease"] is NSNull, "\(plain.object)")

            // Expired: the next asker takes it.
            clock.advance(seconds: 61)
            #expect(try await Self.leased(client, digest, for: "node-b").decode(BlobSources.self).originLease?.yours == true)
            #expect(try await Self.leased(client, digest, for: "node-a").decode(BlobSources.self).originLease?.holder == "node-b")
            // Given up: free at once.
            #expect(try await Self.call(client, .delete, "/api/v1/peers/node-b/leases/\(digest)").status == .noContent)
            #expect(try await Self.leased(client, digest, for: "node-a").decode(BlobSources.self).originLease?.yours == true)
            // A peer holds the blob: peers, no lease.
            #expect(try await Self.announce(client, "node-c", [digest], port: 7003, ttl: 300).status == .ok)
            let held = try await Self.leased(client, digest, for: "node-b")
            let heldPeers = try held.decode(BlobSources.self).peers.map(\.id)
            #expect(held.object["origin_lease"] is NSNull && heldPeers == ["node-c"], "\(held.object)")

            // A bad id, a peer nobody announced, another principal's peer.
            let bad = try await Self.leased(client, digest, for: "Bad Id")
            #expect(bad.status == .badRequest && bad.code == "invalid_argument", "\(bad.object)")
            #expect(try await Self.leased(client, digest, for: "nobody").status == .forbidden)
            let mallory = try await harness.principal("mallory", .viewer, scope: "acme/*")
            #expect(try await Self.announce(client, "node-m", [], port: 7004, ttl: 300, mallory).status == .ok)
            let foreign = try await Self.leased(client, digest, for: "node-m")
            #expect(foreign.status == .forbidden && foreign.code == "forbidden", "\(foreign.object)")
            #expect(try await Self.call(client, .delete, "/api/v1/peers/node-m/leases/\(digest)").status == .forbidden)
            #expect(try await Self.leased(client, digest, for: "node-m", mallory).status == .ok)
        }
    }
}
