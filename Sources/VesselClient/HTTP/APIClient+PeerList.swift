import VesselCore

extension APIClient {
    /// `GET /api/v1/peers` (admin): every live peer, all pages, ordered by id.
    public func peers() async throws -> [PeerInfo] { try await all("/api/v1/peers", as: PeerInfo.self) }
}
