import struct Crypto.SHA256
import Foundation
import VesselCore

extension Downloader {
    /// The peers to fetch `digest` from, when this pull uses peers and the registry names
    /// some (with piece digests); nil: the origin only (also for a registry from before peers).
    func peerPieces(model: ModelName, digest: Digest, size: UInt64) async -> PeerPieces? {
        guard let session = peers, size > 0,
              let sources = try? await api.blobSources(model, digest: digest),
              !sources.peers.isEmpty, sources.size == Int64(size), sources.pieceSize > 0,
              sources.pieces.count == BlobSources.pieceCount(size: sources.size, pieceSize: sources.pieceSize)
        else { return nil }
        return PeerPieces(sources, session: session)
    }

    /// Fetches one whole piece from a peer (or from the origin when no peer is left for it),
    /// hashing it as it lands; records it only when it matches its digest. A peer that fails,
    /// misses the deadline or sends a bad piece is dropped for this pull (a bad piece is also
    /// reported) and the piece goes back to the queue for another source. Answers the hash
    /// state that checked the piece (nil: not received, try again).
    func fetchPiece(_ part: Range<UInt64>, model: ModelName, digest: Digest, size: UInt64, file: PartialFile, peers: PeerPieces) async throws -> SHA256? {
        guard let expected = peers.expectedDigest(at: part.lowerBound) else {
            throw VesselError(.internalError, "no piece digest for byte \(part.lowerBound) of \(digest)")
        }
        let peer = peers.source(for: part.lowerBound)
        if peer != nil, peers.ticketIsOld, let fresh = try? await api.blobSources(model, digest: digest) { peers.renew(fresh) }
        let ticket = peers.ticket
        let deadline = peers.session.pieceDeadline
        let outcome: (UInt64, SHA256?)
        do {
            outcome = try await withThrowingTaskGroup(of: (UInt64, SHA256?)?.self) { group in
                group.addTask {
                    let response = try await {
                        if let peer { return try await api.getFromPeer(peer, digest: digest, range: part, size: size, ticket: ticket, timeout: .seconds(30)) }
                        let response = try await get(model: model, digest: digest, range: part)
                        guard response.status.code == 206 || (response.status.code == 200 && part == 0..<size) else { throw RangeIgnored() }
                        return response
                    }()
                    var position = part.lowerBound
                    var hasher: SHA256? = SHA256()
                    try await receive(response, digest: digest, into: file, at: &position, end: part.upperBound, hasher: &hasher)
                    return (position, hasher)
                }
                if peer != nil {
                    group.addTask {
                        try await Task.sleep(for: deadline)
                        return nil
                    }
                }
                guard let first = try await group.next(), let result = first else {
                    group.cancelAll()
                    throw VesselError(.unavailable, "the piece at byte \(part.lowerBound) missed its deadline of \(deadline)")
                }
                group.cancelAll()
                return result
            }
        } catch {
            guard let peer else { throw error }
            peers.session.drop(peer.id)
            peers.failed(at: part.lowerBound)
            return nil
        }
        let (position, hasher) = outcome
        let actual = hasher.map { Digest(bytes: $0.finalize()).hex }
        guard position == part.upperBound, actual == expected else {
            guard let peer else {
                throw VesselError(.digestMismatch, "the origin's bytes \(part.lowerBound)..<\(position) of \(digest) do not match the piece digest")
            }
            peers.session.drop(peer.id)
            peers.failed(at: part.lowerBound)
            if position == part.upperBound {
                peers.session.noteReported(peer.id)
                try? await api.reportPeer(peer.id, digest: digest, reason: "piece at byte \(part.lowerBound) hashed to \(actual ?? "nothing"), not \(expected)")
            }
            return nil
        }
        if peer != nil { peers.session.addFromPeers(UInt64(part.count)) }
        return hasher
    }
}

/// What the registry said about fetching a blob from the origin (decision 0037).
enum OriginLeaseAnswer: Equatable {
    /// Fetch it as usual: a peer holds it, or the registry has no lease to offer.
    case fetch
    /// This node's peer holds the lease: fetch it from the origin, renewing the lease.
    case hold
    /// Another live peer is fetching it from the origin: take another blob first, ask again later.
    case wait(holder: String)
}

extension Downloader {
    /// Asks for the origin lease of `digest` on behalf of this node's peer `peer`. Any failure
    /// (an older registry, a peer the registry no longer knows): `.fetch`, as without leases.
    func originLease(model: ModelName, digest: Digest, peer: String) async -> OriginLeaseAnswer {
        guard let sources = try? await api.blobSources(model, digest: digest, leaseFor: peer), let lease = sources.originLease else { return .fetch }
        return lease.yours ? .hold : .wait(holder: lease.holder)
    }

    /// `fetch` while holding the origin lease: renewed every third of its life while the
    /// download runs, given up when it fails (a waiting node may then take it at once). On
    /// success it is left to lapse: this node's peer announces the blob within a second, and
    /// from then on `sources` names the peer instead of a lease.
    func fetchHoldingLease(model: ModelName, digest: Digest, size: UInt64, peer: String) async throws -> (path: String, transferred: UInt64) {
        let renewal = Task { [api] in
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(PeerProtocol.originLeaseSeconds / 3))
                _ = try? await api.blobSources(model, digest: digest, leaseFor: peer)
            }
        }
        defer { renewal.cancel() }
        do {
            return try await fetch(model: model, digest: digest, size: size)
        } catch {
            try? await api.releaseOriginLease(peer, digest: digest)
            throw error
        }
    }
}
