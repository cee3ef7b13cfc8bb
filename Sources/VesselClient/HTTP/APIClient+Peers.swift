import AsyncHTTPClient
import NIOCore
import VesselCore

/// Peers (docs/peers.md): announcing what a node holds, the registry's ticket keys, where a
/// blob can be fetched from, reporting a peer that served bad bytes, and the peer's own GET.
extension APIClient {
    /// `PUT /api/v1/peers/:peer`: this peer's URL and the full set of blobs it holds.
    /// - Throws: `invalid_argument` (id, url, ttl), `forbidden` when another principal
    ///   announced this peer id.
    public func announcePeer(_ id: String, _ announcement: PeerAnnouncement) async throws -> PeerInfo {
        try PeerID.validate(id)
        return try await call(.PUT, "/api/v1/peers/\(id)", body: announcement, as: PeerInfo.self)
    }

    /// `DELETE /api/v1/peers/:peer`: this peer stops (its announcement goes at once).
    public func withdrawPeer(_ id: String) async throws {
        try PeerID.validate(id)
        try await callNoContent(.DELETE, "/api/v1/peers/\(id)")
    }

    /// `GET /api/v1/peers/ticket-keys`: the public keys tickets are signed with.
    public func ticketKeys() async throws -> TicketKeys {
        try await call(.GET, "/api/v1/peers/ticket-keys", as: TicketKeys.self)
    }

    /// `GET …/blobs/:digest/sources`: the blob's piece digests, live peers holding it and a
    /// ticket for them; nil when the registry does not answer it (404: a server from before
    /// peers, or a blob it will not describe) — the blob then comes from the origin only.
    public func blobSources(_ model: ModelName, digest: Digest) async throws -> BlobSources? {
        do {
            return try await call(.GET, "\(model.apiPath)/blobs/\(digest)/sources", as: BlobSources.self)
        } catch let error as VesselError where error.code == .notFound {
            return nil
        }
    }

    /// `POST …/blobs/:digest/sources` `{lease_for}`: as `blobSources`, asked on behalf of this
    /// node's live peer `peer`; while no peer holds the blob the answer carries the origin lease
    /// (decision 0037). nil on 404 (a registry from before peers or before leases).
    /// - Throws: `forbidden` when `peer` is not a live peer of the caller's principal.
    public func blobSources(_ model: ModelName, digest: Digest, leaseFor peer: String) async throws -> BlobSources? {
        do {
            return try await call(.POST, "\(model.apiPath)/blobs/\(digest)/sources", body: SourcesRequest(leaseFor: peer), as: BlobSources.self)
        } catch let error as VesselError where error.code == .notFound {
            return nil
        }
    }

    /// `DELETE /api/v1/peers/:peer/leases/:digest`: give up `peer`'s origin lease of `digest`.
    public func releaseOriginLease(_ peer: String, digest: Digest) async throws {
        try PeerID.validate(peer)
        try await callNoContent(.DELETE, "/api/v1/peers/\(peer)/leases/\(digest)")
    }

    /// `POST /api/v1/peers/:peer/reports`: `peer` served bytes of `digest` that did not match.
    public func reportPeer(_ id: String, digest: Digest, reason: String) async throws {
        try PeerID.validate(id)
        try await callNoContent(.POST, "/api/v1/peers/\(id)/reports", body: PeerReport(digest: digest, reason: String(reason.prefix(500))))
    }

    /// `GET PEER/blobs/:digest` with the ticket and a `Range`, once (no retry: a failing peer
    /// is dropped and its piece fetched elsewhere). Never carries the registry token.
    /// Answers the response when it is 206 (or 200 for the whole blob); throws otherwise.
    func getFromPeer(_ peer: PeerEndpoint, digest: Digest, range: Range<UInt64>, size: UInt64, ticket: String, timeout: TimeAmount) async throws -> HTTPClientResponse {
        let base = peer.url.hasSuffix("/") ? String(peer.url.dropLast()) : peer.url
        var request = HTTPClientRequest(url: "\(base)/blobs/\(digest)")
        request.headers.add(name: "User-Agent", value: "vessel-cli")
        request.headers.add(name: "Authorization", value: "Ticket \(ticket)")
        request.headers.add(name: "Range", value: "bytes=\(range.lowerBound)-\(range.upperBound - 1)")
        let response = try await http.execute(request, timeout: timeout)
        guard response.status.code == 206 || (response.status.code == 200 && range == 0..<size) else {
            _ = try? await response.body.collect(upTo: 1 << 16)
            throw VesselError(.unavailable, "peer \(peer.id) answered \(response.status.code)")
        }
        return response
    }
}

extension APIClient {
    /// `GET /api/v1/peers` (admin): every live peer.
    public func peersList() async throws -> [PeerInfo] {
        try await all("/api/v1/peers", as: PeerInfo.self)
    }
}
