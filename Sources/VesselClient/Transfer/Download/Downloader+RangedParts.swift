import struct Crypto.SHA256
import VesselCore
import VesselSigning

extension Downloader {
    /// Several connections, each fetching parts the journal lacks; hashed in order meanwhile,
    /// from memory as they arrive (`OrderedHasher`).
    /// Throws `RangeIgnored` when the server answers a ranged request with the whole blob.
    /// With `peers`, the parts are the blob's pieces, each checked against its digest before it
    /// counts as received (`fetchPiece`).
    func fetchInParts(model: ModelName, digest: Digest, size: UInt64, file: PartialFile, journal: PartJournal, transferred: Tally, peers: PeerPieces? = nil) async throws -> SHA256 {
        var received: [Range<UInt64>]
        if journal.exists {
            // A journal that cannot be read vouches for nothing: the file may have holes.
            received = journal.read(size: size) ?? []
            if received.isEmpty { file.truncate() }
        } else {
            // A prefix left by a single-stream attempt counts.
            let length = file.length
            let prefix = length <= size ? length : 0
            if prefix == 0 { file.truncate() }
            received = prefix > 0 ? [0..<prefix] : []
        }
        if let peers { received = PeerPieces.wholePieces(of: received, size: size, pieceSize: peers.pieceSize) }
        try journal.write(received)
        progress?.add(received.reduce(0) { $0 + UInt64($1.count) })
        let queue = peers.map { PeerPieces.plan(received: received, size: size, pieceSize: $0.pieceSize) }
            ?? Parts.plan(received: received, size: size, partSize: partSize)
        let state = Parts(received: received, queue: queue)
        if let peers, queue == [0..<size], peers.expectedDigest(at: 0) == digest.hex {
            // A blob of one piece from peers: the piece's digest is the blob's, so the hash that
            // checked the piece is the blob's hash; no second pass reading the file back. (The
            // caller still compares it with the blob digest.)
            while true {
                if let hasher = try await fetchPiece(0..<size, model: model, digest: digest, size: size, file: file, peers: peers) {
                    state.record(0..<size, in: journal)
                    transferred.add(size)
                    return hasher
                }
            }
        }
        // Hashed in file order on a task of its own while the parts arrive: a chunk at the
        // hashing point, or ahead of it within `reorderBudget`, is hashed from memory; beyond
        // that (and for what a resumed download or a peer put in the file) the bytes are read
        // back from the file once recorded (`OrderedHasher`).
        let feed = OrderedHasher(from: 0, budget: reorderBudget, overflow: .spill)
        let hashing = Task { try await feed.run(hasher: SHA256(), file: file, durable: { state.receivedEnd(from: $0) }) }
        defer { hashCounts?.add(feed) }
        // Signalled whenever a range is recorded.
        let arrived = feed
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // From peers, at least four connections: pieces come from several peers at once.
                for _ in 0..<min(peers == nil ? streams : max(streams, 4), max(queue.count, 1)) {
                    group.addTask {
                        while let part = state.next() {
                            if let peers {
                                if try await fetchPiece(part, model: model, digest: digest, size: size, file: file, peers: peers) != nil {
                                    state.record(part, in: journal)
                                    transferred.add(UInt64(part.count))
                                    arrived.yield()
                                } else {
                                    state.requeue(part)
                                }
                                continue
                            }
                            var position = part.lowerBound
                            defer {
                                let got = part.lowerBound..<position
                                if !got.isEmpty {
                                    state.record(got, in: journal)
                                    transferred.add(UInt64(got.count))
                                    arrived.yield()
                                }
                            }
                            let response = try await get(model: model, digest: digest, range: part)
                            guard response.status.code == 206 || (response.status.code == 200 && part == 0..<size) else { throw RangeIgnored() }
                            var none: SHA256?
                            try await receive(response, digest: digest, into: file, at: &position, end: part.upperBound, hasher: &none, feed: feed)
                            guard position == part.upperBound else {
                                throw VesselError(.unavailable, "the download of \(digest) was cut at byte \(position)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            feed.fail()
            _ = try? await hashing.value
            throw error
        }
        feed.finish()
        let (hasher, hashed) = try await hashing.value
        guard hashed == size else {
            throw VesselError(.unavailable, "the download of \(digest) ended after \(hashed) of \(size) bytes")
        }
        return hasher
    }
}

/// Thrown when a ranged request comes back whole: the download starts over on one stream.
struct RangeIgnored: Error {}
