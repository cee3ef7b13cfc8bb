extension Migrations {
    /// 19: peer-to-peer blob sharing (issue 30, docs/peers.md). `blob_pieces` keeps the SHA-256
    /// of every `piece_size` piece of a blob (`pieces`: a JSON array of hex digests), computed
    /// the first time a peer needs them; content-addressed, so it needs no link to `blobs` and
    /// stays right if a swept blob is uploaded again. `peers` holds each announcing peer with
    /// the principal that announced it (`principal`, the only one but an admin that may change
    /// it), when its announcement runs out (`expires_at`) and until when it is left out of
    /// answers after a report (`suspect_until`); `peer_blobs` the blobs it announced. Times are
    /// microseconds since the epoch. The ticket signing key is the `peer_ticket` secret in
    /// `vessel_secrets` (migration 9), made on first use like the cursor key.
    static let peers: [String] = [
        "CREATE TABLE blob_pieces (digest TEXT PRIMARY KEY, piece_size BIGINT NOT NULL, pieces TEXT NOT NULL)",
        """
        CREATE TABLE peers (id TEXT PRIMARY KEY, url TEXT NOT NULL, principal TEXT NOT NULL, blobs BIGINT NOT NULL,
          announced_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, suspect_until BIGINT)
        """,
        "CREATE INDEX peers_expires ON peers (expires_at)",
        "CREATE TABLE peer_blobs (digest TEXT NOT NULL, peer_id TEXT NOT NULL, PRIMARY KEY (digest, peer_id))",
        "CREATE INDEX peer_blobs_peer ON peer_blobs (peer_id)",
    ]
}
