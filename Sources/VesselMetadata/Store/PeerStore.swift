import Foundation
import VesselCore

/// Peer-to-peer blob sharing (issue 30, docs/peers.md): which peers hold which blobs, the
/// piece digests of blobs, and the registry's ticket key. An announcement is peer state, not a
/// registry change: not audited, no event. A report against a peer is audited
/// (`peer.reported`).
public protocol PeerStore: Sendable {
    /// Records `announcement` of peer `id` at now (its blob set replaces the previous one) and
    /// answers its record. Expired peers are removed first, so a lapsed id may be taken by anyone.
    /// - Throws: `invalid_argument` (a bad id, url or ttl), `forbidden` when another principal
    ///   announced the live peer `id`.
    func announcePeer(id: String, _ announcement: PeerAnnouncement, principal: String) async throws -> PeerInfo
    /// Removes peer `id`. Only the principal that announced it may, unless `asAdmin`.
    /// - Throws: `not_found` when no live peer has the id, `forbidden`.
    func removePeer(id: String, principal: String, asAdmin: Bool) async throws
    /// Every live (not expired) peer, ordered by id.
    func livePeers() async throws -> [PeerInfo]
    /// How many peers are live (not expired) now.
    func livePeerCount() async throws -> Int
    /// Up to `limit` live, not suspect peers holding `digest`, shuffled.
    func peerSources(of digest: Digest, limit: Int) async throws -> [PeerEndpoint]
    /// Marks peer `id` suspect for `PeerProtocol.suspectSeconds` (audited `peer.reported`,
    /// the report's reason as the change's reason).
    /// - Throws: `not_found` when no live peer has the id.
    func reportPeer(id: String, _ report: PeerReport, change: ChangeContext) async throws -> PeerInfo
    /// The stored piece digests of a blob, if they were computed with `pieceSize`.
    func blobPieces(of digest: Digest, pieceSize: Int64) async throws -> [String]?
    /// Stores the piece digests of a blob (the first stored wins: they are content-addressed).
    func recordBlobPieces(of digest: Digest, pieceSize: Int64, pieces: [String]) async throws
    /// The origin lease of `digest` asked for on behalf of peer `peer` (decision 0037): nil when
    /// a live, not suspect peer holds the blob (fetch it from peers); else the lease, taken
    /// (or renewed) for `peer` for `seconds` when it is free, already `peer`'s, expired, or its
    /// holder's announcement ran out (`yours`), or the live lease of another peer.
    /// - Throws: `invalid_argument` (a bad id), `forbidden` unless `peer` is a live peer that
    ///   `principal` announced.
    func takeOriginLease(of digest: Digest, for peer: String, principal: String, seconds: Int) async throws -> OriginLease?
    /// Ends `peer`'s origin lease of `digest` (nothing when it holds none).
    /// - Throws: `invalid_argument`, `forbidden` as `takeOriginLease`.
    func releaseOriginLease(of digest: Digest, for peer: String, principal: String) async throws
    /// The registry's Ed25519 ticket key, 32 raw bytes: the `peer_ticket` secret, made on first
    /// use (replicas racing to make it all end up with the one stored).
    func peerTicketKey(making make: @Sendable () -> Data) async throws -> Data
}
