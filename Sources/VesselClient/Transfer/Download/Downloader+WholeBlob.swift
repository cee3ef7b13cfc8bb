import struct Crypto.SHA256
import VesselCore

extension Downloader {
    /// One connection, appending to the prefix already in the partial file.
    func fetchSequentially(model: ModelName, digest: Digest, size: UInt64, file: PartialFile, transferred: Tally) async throws -> SHA256 {
        var have = file.length
        if have > size {
            file.truncate()
            have = 0
        }
        // Re-hash the durable prefix so the final digest covers every byte.
        var hasher = SHA256()
        have = try file.hash(0..<have, into: &hasher, scratch: nil)
        progress?.add(have)
        if have < size {
            let response = try await get(model: model, digest: digest, range: have > 0 ? have..<size : nil)
            if have > 0 && response.status.code != 206 {
                // The server ignored the range: start over.
                file.truncate()
                have = 0
                hasher = SHA256()
            }
            // The received bytes are hashed on a task of their own while the next ones arrive
            // and are written; every chunk is next in order, so the connection waits only when
            // the hashing falls `hashingBudget` bytes behind.
            let feed = OrderedHasher(from: have, budget: Self.hashingBudget, overflow: .wait)
            let start = hasher
            let hashing = Task { try await feed.run(hasher: start, file: file, durable: { $0 }) }
            defer { hashCounts?.add(feed) }
            var position = have
            let first = have
            defer { transferred.add(position - first) }
            do {
                var none: SHA256?
                try await receive(response, digest: digest, into: file, at: &position, end: size, hasher: &none, feed: feed)
            } catch {
                feed.fail()
                _ = try? await hashing.value
                throw error
            }
            feed.finish()
            let hashed: UInt64
            (hasher, hashed) = try await hashing.value
            guard hashed == position else {
                throw VesselError(.unavailable, "the download of \(digest) hashed \(hashed) of \(position) received bytes")
            }
            have = position
        }
        guard have == size else {
            throw VesselError(.unavailable, "the download of \(digest) ended after \(have) of \(size) bytes")
        }
        return hasher
    }
}
