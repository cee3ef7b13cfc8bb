import Crypto
import Foundation
import Hummingbird
import NIOCore
import Synchronization
import VesselCore
import VesselMetadata
import VesselSigning
import VesselStorage

/// Peer-to-peer blob sharing (issue 30, docs/peers.md): peers announce what they hold, pulls
/// ask where a blob is (with its piece digests and a ticket the peers check), and a puller
/// reports a peer that served bad bytes.
struct PeerController {
    let store: any PeerStore & BlobMembership & BlobIndex & GrantStore
    let blobs: any BlobStore
    let metrics: ServerMetrics
    let clock: @Sendable () -> Int64
    let tickets: PeerTicketKeyring
    let pieces: PieceDigests

    init(store: any PeerStore & BlobMembership & BlobIndex & GrantStore, blobs: any BlobStore, metrics: ServerMetrics, clock: @escaping @Sendable () -> Int64) {
        self.store = store
        self.blobs = blobs
        self.metrics = metrics
        self.clock = clock
        tickets = PeerTicketKeyring(store: store)
        pieces = PieceDigests(store: store, blobs: blobs)
    }

    static let sourcesPath = "/api/v1/models/:owner/:name/blobs/:digest/sources"

    /// `vessel_peers_live` after an announcement or a withdrawal (every live peer announces
    /// every ttl/3, so the gauge is never older than that; a lapsed peer leaves it at the next
    /// announcement of any peer). A failed count leaves the gauge as it was.
    func countLivePeers() async {
        if let count = try? await store.livePeerCount() { metrics.livePeers(count) }
    }

    func register(_ routes: APIRoutes) {
        routes.on(.get, "/api/v1/peers/ticket-keys", .authenticated) { _, _, _ in
            try JSONResponse.make(TicketKeys(keys: [try await tickets.signer().ticketKey]))
        }
        routes.on(.get, "/api/v1/peers", .admin) { request, _, _ in
            let peers = try await store.livePeers()
            metrics.livePeers(peers.count)
            return try JSONResponse.make(try ListPaging.page(peers, request) { $0.id })
        }
        // An announcement is peer state, not a registry change: any principal, not audited.
        routes.on(.put, "/api/v1/peers/:peer", .authenticated) { request, context, caller in
            let body = try await JSONResponse.decode(PeerAnnouncement.self, from: request, context: context)
            let info = try await store.announcePeer(id: try peerID(context), body, principal: caller.principal.name)
            await countLivePeers()
            return try JSONResponse.make(info)
        }
        routes.on(.delete, "/api/v1/peers/:peer", .authenticated) { _, context, caller in
            let id = try peerID(context)
            let admin = try await store.role(of: caller.principal.name, on: nil) == .admin
            try await store.removePeer(id: id, principal: caller.principal.name, asAdmin: admin)
            await countLivePeers()
            return Response(status: .noContent)
        }
        routes.on(.post, "/api/v1/peers/:peer/reports", .authenticated) { request, context, caller in
            let id = try peerID(context)
            let body = try await JSONResponse.decode(PeerReport.self, from: request, context: context)
            _ = try await store.reportPeer(id: id, body, change: caller.change(reason: body.reason))
            metrics.peerReported()
            return Response(status: .noContent)
        }
        routes.on(.get, Self.sourcesPath, .read) { _, context, _ in
            try JSONResponse.make(try await sources(context, leaseFor: nil, principal: ""))
        }
        // The same answer plus the origin lease (decision 0037). A POST, not a query on the GET:
        // it may take or renew a lease, and a GET must stay safe to repeat, cache and prefetch.
        routes.on(.post, Self.sourcesPath, .read) { request, context, caller in
            let body = try await JSONResponse.decode(SourcesRequest.self, from: request, context: context)
            try PeerID.validate(body.leaseFor)
            return try JSONResponse.make(try await sources(context, leaseFor: body.leaseFor, principal: caller.principal.name))
        }
        // The holder gives its lease up (its download failed): a waiting puller may take it at once.
        routes.on(.delete, "/api/v1/peers/:peer/leases/:digest", .authenticated) { _, context, caller in
            let id = try peerID(context)
            let digest = try VesselCore.Digest(try context.parameters.require("digest"))
            try await store.releaseOriginLease(of: digest, for: id, principal: caller.principal.name)
            return Response(status: .noContent)
        }
    }

    /// Where the blob of the route is: its peers, pieces and a ticket; with `leaseFor`, also
    /// the origin lease while no peer holds it.
    private func sources(_ context: AppContext, leaseFor: String?, principal: String) async throws -> BlobSources {
        let digest = try VesselCore.Digest(try context.parameters.require("digest"))
        guard let model = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no model") }
        guard try await store.modelContainsBlob(model: model, digest: digest), let size = try await store.blobSize(digest) else {
            throw VesselError.notFound("model holds no blob \(digest)")
        }
        var lease: OriginLease?
        if let leaseFor {
            lease = try await store.takeOriginLease(of: digest, for: leaseFor, principal: principal, seconds: PeerProtocol.originLeaseSeconds)
        }
        let peers = try await store.peerSources(of: digest, limit: PeerProtocol.maxSources)
        // Pieces matter only to a pull that takes bytes from peers: with none, the blob is not
        // read a second time to hash them (a first pull from the origin reads it once).
        let pieceDigests = peers.isEmpty ? [] : try await pieces.of(digest, size: size)
        let expires = Int(clock() / 1_000_000) + PeerProtocol.ticketLifetimeSeconds
        let ticket = try await tickets.signer().sign(model: model.description, digest: digest, expires: expires)
        return BlobSources(digest: digest, size: Int64(size), pieceSize: PeerProtocol.pieceSize, pieces: pieceDigests,
                           peers: peers, ticket: ticket, ticketExpiresAt: Timestamp.rfc3339(micros: Int64(expires) * 1_000_000),
                           originLease: peers.isEmpty ? lease : nil)
    }

    private func peerID(_ context: AppContext) throws -> String {
        let id = try context.parameters.require("peer")
        try PeerID.validate(id)
        return id
    }
}

/// The registry's ticket signer, read (or made) once per process from the metadata database.
final class PeerTicketKeyring: Sendable {
    private let store: any PeerStore
    private let cached = Mutex<PeerTicketSigner?>(nil)

    init(store: any PeerStore) { self.store = store }

    func signer() async throws -> PeerTicketSigner {
        if let signer = cached.withLock({ $0 }) { return signer }
        let raw = try await store.peerTicketKey { PeerTicketSigner.generateRawKey() }
        let signer: PeerTicketSigner
        do { signer = try PeerTicketSigner(rawPrivateKey: raw) } catch {
            throw VesselError.internalError("the peer ticket key in the metadata database is damaged")
        }
        cached.withLock { $0 = signer }
        return signer
    }
}

/// The piece digests of blobs: stored ones, else computed by streaming the blob from storage
/// once (concurrent askers of one blob share the one computation) and stored.
final class PieceDigests: Sendable {
    private let store: any PeerStore
    private let blobs: any BlobStore
    private let running = Mutex<[VesselCore.Digest: Task<[String], any Error>]>([:])
    let pieceSize: Int64

    init(store: any PeerStore, blobs: any BlobStore, pieceSize: Int64 = PeerProtocol.pieceSize) {
        self.store = store
        self.blobs = blobs
        self.pieceSize = pieceSize
    }

    func of(_ digest: VesselCore.Digest, size: UInt64) async throws -> [String] {
        if let stored = try await store.blobPieces(of: digest, pieceSize: pieceSize) { return stored }
        let task = running.withLock { running in
            if let task = running[digest] { return task }
            let task = Task { [store, blobs, pieceSize] in
                let pieces = try await Self.compute(blobs.read(digest, range: nil), pieceSize: pieceSize)
                guard pieces.count == BlobSources.pieceCount(size: Int64(size), pieceSize: pieceSize) else {
                    throw VesselError.internalError("blob \(digest) in storage is not \(size) bytes long")
                }
                try await store.recordBlobPieces(of: digest, pieceSize: pieceSize, pieces: pieces)
                return pieces
            }
            running[digest] = task
            return task
        }
        defer { _ = running.withLock { $0.removeValue(forKey: digest) } }
        return try await task.value
    }

    /// The hex SHA-256 of every `pieceSize` piece of `chunks` (`PieceHasher`, as uploads do).
    static func compute<S: AsyncSequence>(_ chunks: S, pieceSize: Int64) async throws -> [String] where S.Element == ByteBuffer {
        try await PieceHasher.pieces(of: chunks, pieceSize: pieceSize)
    }
}
