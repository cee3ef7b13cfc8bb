extension Migrations {
    /// 22: origin leases (issue 30, docs/peers.md "Origin leases", decision 0037). While no live
    /// peer holds a blob, the first puller asking on behalf of a live peer of its own gets the
    /// lease to fetch it from the origin; others wait for that peer instead of fetching it too.
    /// One row per blob: the holder peer id and when the lease runs out (microseconds since the
    /// epoch). A lease whose `expires_at` passed, or whose holder's announcement ran out, is free.
    static let originLeases: [String] = [
        "CREATE TABLE blob_origin_leases (digest TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL)",
    ]
}
