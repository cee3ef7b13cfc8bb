import Foundation
import Testing
import VesselCore
@testable import VesselMetadata

/// The peer store's contract (issue 30, migration 19), on every backend in `MetadataHarness.backends`.
@Suite struct PeerConformanceTests {
    let second: Int64 = 1_000_000

    func announcement(_ port: Int, _ blobs: [UInt8], ttl: Int? = nil) -> PeerAnnouncement {
        PeerAnnouncement(url: "http://10.0.0.1:\(port)", blobs: blobs.map { MetadataHarness.digest($0) }, ttlSeconds: ttl)
    }

    func withClockedStore(_ backend: String, _ body: (SQLMetadataStore, ManualClock) async throws -> Void) async throws {
        try await MetadataHarness.withStore(backend) { _, sql in
            let clock = ManualClock()
            try await body(SQLMetadataStore(backend: sql, clock: { clock() }), clock)
        }
    }

    /// An announcement records the peer with its blob set; the next one replaces the set; the
    /// sources of a blob name only the peers holding it.
    @Test(arguments: MetadataHarness.backends)
    func announcementsReplaceTheBlobSet(_ backend: String) async throws {
        try await withClockedStore(backend) { store, clock in
            let first = try await store.announcePeer(id: "node-a", announcement(7001, [1, 2, 2]), principal: "agent")
            #expect(first.id == "node-a" && first.url == "http://10.0.0.1:7001" && first.principal == "agent" && first.blobs == 2 && first.suspectUntil == nil)
            #expect(first.expiresAt == Timestamp.rfc3339(micros: clock() + 60 * second))
            _ = try await store.announcePeer(id: "node-b", announcement(7002, [2], ttl: 300), principal: "agent")
            #expect(Set(try await store.peerSources(of: MetadataHarness.digest(2), limit: 16).map(\.id)) == ["node-a", "node-b"])
            #expect(try await store.peerSources(of: MetadataHarness.digest(1), limit: 16) == [PeerEndpoint(id: "node-a", url: "http://10.0.0.1:7001")])

            let again = try await store.announcePeer(id: "node-a", announcement(7003, [3]), principal: "agent")
            #expect(again.blobs == 1 && again.url == "http://10.0.0.1:7003")
            #expect(try await store.peerSources(of: MetadataHarness.digest(1), limit: 16).isEmpty)
            #expect(try await store.peerSources(of: MetadataHarness.digest(3), limit: 16).map(\.id) == ["node-a"])
            #expect(try await store.livePeers().map(\.id) == ["node-a", "node-b"])
            // At most `limit` answered.
            #expect(try await store.peerSources(of: MetadataHarness.digest(2), limit: 1).count == 1)
        }
    }

    /// A large announcement is stored in batches, every blob of it.
    @Test(arguments: MetadataHarness.backends)
    func aLargeAnnouncementIsStoredWhole(_ backend: String) async throws {
        try await withClockedStore(backend) { store, _ in
            let digests = (0..<1000).map { Digest(bytes: Array(String(format: "%032d", $0).utf8)) }
            let info = try await store.announcePeer(id: "big", PeerAnnouncement(url: "http://h:1", blobs: digests), principal: "agent")
            #expect(info.blobs == 1000)
            #expect(try await store.peerSources(of: digests[999], limit: 16).map(\.id) == ["big"])
            #expect(try await store.peerSources(of: digests[0], limit: 16).map(\.id) == ["big"])
        }
    }

    /// Another principal may not overwrite or remove a live peer; an admin may remove it; once
    /// it expired it is never answered, and the id is free again.
    @Test(arguments: MetadataHarness.backends)
    func ownershipAndExpiry(_ backend: String) async throws {
        try await withClockedStore(backend) { store, clock in
            _ = try await store.announcePeer(id: "node-a", announcement(7001, [1], ttl: 5), principal: "agent")
            await expectCode(.forbidden) { _ = try await store.announcePeer(id: "node-a", announcement(9999, [1]), principal: "mallory") }
            await expectCode(.forbidden) { try await store.removePeer(id: "node-a", principal: "mallory", asAdmin: false) }
            #expect(try await store.peerSources(of: MetadataHarness.digest(1), limit: 16).map(\.url) == ["http://10.0.0.1:7001"])

            clock.advance(seconds: 6)
            #expect(try await store.peerSources(of: MetadataHarness.digest(1), limit: 16).isEmpty)
            #expect(try await store.livePeers().isEmpty)
            await expectCode(.notFound) { try await store.removePeer(id: "node-a", principal: "agent", asAdmin: false) }
            // Expired: removed lazily by the next announcement, after which anyone may take the id.
            let taken = try await store.announcePeer(id: "node-a", announcement(7002, [2]), principal: "other")
            #expect(taken.principal == "other" && taken.blobs == 1)
            #expect(try await store.peerSources(of: MetadataHarness.digest(1), limit: 16).isEmpty)

            try await store.removePeer(id: "node-a", principal: "admin", asAdmin: true)
            #expect(try await store.livePeers().isEmpty)
            #expect(try await store.peerSources(of: MetadataHarness.digest(2), limit: 16).isEmpty)
        }
    }

    /// A reported peer is left out of sources for ten minutes and the report is audited.
    @Test(arguments: MetadataHarness.backends)
    func aReportedPeerIsSuspect(_ backend: String) async throws {
        try await withClockedStore(backend) { store, clock in
            _ = try await store.announcePeer(id: "liar", announcement(7001, [1], ttl: 3600), principal: "agent")
            _ = try await store.announcePeer(id: "honest", announcement(7002, [1], ttl: 3600), principal: "agent")
            let change = ChangeContext(actor: "puller", requestID: "req-9", reason: "piece 3 did not match")
            let reported = try await store.reportPeer(id: "liar", PeerReport(digest: MetadataHarness.digest(1), reason: "piece 3 did not match"), change: change)
            #expect(reported.suspectUntil == Timestamp.rfc3339(micros: clock() + 600 * second))
            #expect(try await store.peerSources(of: MetadataHarness.digest(1), limit: 16).map(\.id) == ["honest"])
            // A re-announcement does not clear the suspicion.
            _ = try await store.announcePeer(id: "liar", announcement(7001, [1], ttl: 3600), principal: "agent")
            #expect(try await store.peerSources(of: MetadataHarness.digest(1), limit: 16).map(\.id) == ["honest"])

            let entry = try #require(try await store.auditEntries(model: nil, limit: 1000, cursor: nil).items.first { $0.action == "peer.reported" })
            #expect(entry.target == "peer/liar" && entry.actor == "puller" && entry.after == MetadataHarness.digest(1).description && entry.reason == "piece 3 did not match")

            clock.advance(seconds: 601)
            #expect(Set(try await store.peerSources(of: MetadataHarness.digest(1), limit: 16).map(\.id)) == ["liar", "honest"])
            await expectCode(.notFound) { _ = try await store.reportPeer(id: "nobody", PeerReport(digest: MetadataHarness.digest(1), reason: "x"), change: change) }
        }
    }

    /// Bad ids and announcements are refused before anything is stored.
    @Test(arguments: MetadataHarness.backends)
    func badIdsAndAnnouncementsAreRefused(_ backend: String) async throws {
        try await withClockedStore(backend) { store, _ in
            for id in ["", "Node", "-a", "a/b", String(repeating: "a", count: 64)] {
                await expectCode(.invalidArgument) { _ = try await store.announcePeer(id: id, announcement(1, [1]), principal: "agent") }
            }
            await expectCode(.invalidArgument) { _ = try await store.announcePeer(id: "a", announcement(1, [1], ttl: 4), principal: "agent") }
            await expectCode(.invalidArgument) { _ = try await store.announcePeer(id: "a", announcement(1, [1], ttl: 3601), principal: "agent") }
            await expectCode(.invalidArgument) { _ = try await store.announcePeer(id: "a", PeerAnnouncement(url: "ftp://h:1", blobs: []), principal: "agent") }
            await expectCode(.invalidArgument) { _ = try await store.announcePeer(id: "a", PeerAnnouncement(url: "http://u:p@h:1", blobs: []), principal: "agent") }
            #expect(try await store.livePeers().isEmpty)
            _ = try await store.announcePeer(id: String(repeating: "a", count: 63), PeerAnnouncement(url: "http://h:1/", blobs: []), principal: "agent")
        }
    }

    /// Piece digests are stored once per blob and piece size; the ticket key is made once.
    @Test(arguments: MetadataHarness.backends)
    func piecesAndTheTicketKeyAreKept(_ backend: String) async throws {
        try await withClockedStore(backend) { store, _ in
            let digest = MetadataHarness.digest(7)
            #expect(try await store.blobPieces(of: digest, pieceSize: 64) == nil)
            try await store.recordBlobPieces(of: digest, pieceSize: 64, pieces: ["aa", "bb"])
            try await store.recordBlobPieces(of: digest, pieceSize: 64, pieces: ["cc"])
            #expect(try await store.blobPieces(of: digest, pieceSize: 64) == ["aa", "bb"])
            #expect(try await store.blobPieces(of: digest, pieceSize: 128) == nil)

            let key = try await store.peerTicketKey { Data(repeating: 1, count: 32) }
            let again = try await store.peerTicketKey { Data(repeating: 2, count: 32) }
            #expect(key == Data(repeating: 1, count: 32) && again == key)
        }
    }

    /// Origin leases (migration 22, decision 0037): a free lease goes to the first live peer that
    /// asks; another peer is told who holds it; the holder renews it; it is taken over once it
    /// expired or its holder's announcement ran out; released, it is free at once; none while a
    /// peer holds the blob; a peer not live or of another principal may not ask.
    @Test(arguments: MetadataHarness.backends)
    func originLeases(_ backend: String) async throws {
        try await withClockedStore(backend) { store, clock in
            let blob = MetadataHarness.digest(9)
            _ = try await store.announcePeer(id: "node-a", announcement(7001, [], ttl: 300), principal: "agent")
            _ = try await store.announcePeer(id: "node-b", announcement(7002, [], ttl: 300), principal: "agent")
            _ = try await store.announcePeer(id: "node-m", announcement(7003, [], ttl: 300), principal: "mallory")

            let taken = try await store.takeOriginLease(of: blob, for: "node-a", principal: "agent", seconds: 60)
            #expect(taken == OriginLease(holder: "node-a", expiresAt: Timestamp.rfc3339(micros: clock() + 60 * second), yours: true))
            let refused = try await store.takeOriginLease(of: blob, for: "node-b", principal: "agent", seconds: 60)
            #expect(refused == OriginLease(holder: "node-a", expiresAt: Timestamp.rfc3339(micros: clock() + 60 * second), yours: false))
            // Renewed by its holder.
            clock.advance(seconds: 40)
            let renewed = try await store.takeOriginLease(of: blob, for: "node-a", principal: "agent", seconds: 60)
            #expect(renewed?.yours == true && renewed?.expiresAt == Timestamp.rfc3339(micros: clock() + 60 * second))
            clock.advance(seconds: 40)
            #expect(try await store.takeOriginLease(of: blob, for: "node-b", principal: "agent", seconds: 60)?.holder == "node-a")
            // Expired: taken over.
            clock.advance(seconds: 21)
            #expect(try await store.takeOriginLease(of: blob, for: "node-b", principal: "agent", seconds: 60)?.yours == true)
            #expect(try await store.takeOriginLease(of: blob, for: "node-a", principal: "agent", seconds: 60)?.holder == "node-b")
            // Released: free at once (releasing a lease one does not hold changes nothing).
            try await store.releaseOriginLease(of: blob, for: "node-a", principal: "agent")
            #expect(try await store.takeOriginLease(of: blob, for: "node-a", principal: "agent", seconds: 60)?.holder == "node-b")
            try await store.releaseOriginLease(of: blob, for: "node-b", principal: "agent")
            #expect(try await store.takeOriginLease(of: blob, for: "node-a", principal: "agent", seconds: 60)?.yours == true)
            // The holder's announcement ran out: the lease is free although not expired.
            _ = try await store.announcePeer(id: "node-a", announcement(7001, [], ttl: 5), principal: "agent")
            clock.advance(seconds: 6)
            #expect(try await store.takeOriginLease(of: blob, for: "node-b", principal: "agent", seconds: 60)?.yours == true)
            // A live peer holds the blob: no lease, fetch it from the peer.
            _ = try await store.announcePeer(id: "node-c", announcement(7004, [9], ttl: 300), principal: "agent")
            #expect(try await store.takeOriginLease(of: blob, for: "node-b", principal: "agent", seconds: 60) == nil)
            // Another principal's peer, a peer not live, a bad id.
            await expectCode(.forbidden) { _ = try await store.takeOriginLease(of: blob, for: "node-m", principal: "agent", seconds: 60) }
            await expectCode(.forbidden) { _ = try await store.takeOriginLease(of: blob, for: "node-a", principal: "agent", seconds: 60) }
            await expectCode(.forbidden) { try await store.releaseOriginLease(of: blob, for: "node-m", principal: "agent") }
            await expectCode(.invalidArgument) { _ = try await store.takeOriginLease(of: blob, for: "Bad Id", principal: "agent", seconds: 60) }
        }
    }
}
