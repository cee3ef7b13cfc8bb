/// The peer routes (issue 30, docs/peers.md) in the OpenAPI document.
extension OpenAPIDocument {
    static let peerOperations: [Operation] = [
        Operation(method: "GET", path: "/api/v1/peers/ticket-keys", permission: .authenticated, summary: "The Ed25519 keys peer tickets are signed with.",
                  response: .ref("TicketKeys")),
        Operation(method: "GET", path: "/api/v1/peers", permission: .admin, summary: "Live peers.", query: paging, response: .page(.ref("Peer"))),
        Operation(method: "PUT", path: "/api/v1/peers/:peer", permission: .authenticated,
                  summary: "Announce a peer and the blobs it holds (the full set); only the principal that announced a live peer may announce it again.",
                  body: .json(.object([("url", .string), ("blobs", .array(.string)), ("ttl_seconds", .nullable(.integer))], required: ["url", "blobs"])),
                  response: .ref("Peer")),
        Operation(method: "DELETE", path: "/api/v1/peers/:peer", permission: .authenticated, summary: "Remove a peer (its principal, or an admin)."),
        Operation(method: "POST", path: "/api/v1/peers/:peer/reports", permission: .authenticated,
                  summary: "Report a peer that served bytes not matching a piece digest; it is left out of sources for ten minutes.",
                  body: .json(.object([("digest", .string), ("reason", .string)], required: ["digest", "reason"]))),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/blobs/:digest/sources", permission: .read,
                  summary: "Live peers holding a blob of the model, its piece digests and a ticket for the peers.", response: .ref("BlobSources")),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/blobs/:digest/sources", permission: .read,
                  summary: "As GET, asked on behalf of a live peer of the caller: while no peer holds the blob, also the origin lease (taken for that peer when free or lapsed, renewed when already its own).",
                  body: .json(.object([("lease_for", .string)], required: ["lease_for"])), response: .ref("BlobSources")),
        Operation(method: "DELETE", path: "/api/v1/peers/:peer/leases/:digest", permission: .authenticated,
                  summary: "Give up the peer's origin lease of a blob (its download failed); the peer's principal only."),
    ]

    static let peerComponents: [String: Schema] = [
        "Peer": .object([("id", .string), ("url", .string), ("principal", .string), ("blobs", .integer), ("expires_at", .string),
                         ("suspect_until", .nullable(.string))], required: ["id", "url", "principal", "blobs", "expires_at", "suspect_until"]),
        "BlobSources": .object([("digest", .string), ("size", .integer), ("piece_size", .integer), ("pieces", .array(.string)),
                                ("peers", .array(.object([("id", .string), ("url", .string)], required: ["id", "url"]))),
                                ("ticket", .string), ("ticket_expires_at", .string),
                                ("origin_lease", .nullable(.object([("holder", .string), ("expires_at", .string), ("yours", .boolean)], required: ["holder", "expires_at", "yours"])))],
                               required: ["digest", "size", "piece_size", "pieces", "peers", "ticket", "ticket_expires_at", "origin_lease"]),
        "TicketKeys": .object([("keys", .array(.object([("kid", .string), ("public_key", .string)], required: ["kid", "public_key"])))], required: ["keys"]),
    ]
}
