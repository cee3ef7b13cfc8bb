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
        var prefix = SHA256()
        have = try file.hash(0..<have, into: &prefix)
        var hasher: SHA256? = prefix
        progress?.add(have)
        if have < size {
            let response = try await get(model: model, digest: digest, range: have > 0 ? have..<size : nil)
            if have > 0 && response.status.code != 206 {
                // The server ignored the range: start over.
                file.truncate()
                have = 0
                hasher = SHA256()
            }
            var position = have
            let start = have
            defer { transferred.add(position - start) }
            try await receive(response, digest: digest, into: file, at: &position, end: size, hasher: &hasher)
            have = position
        }
        guard have == size, let hasher else {
            throw VesselError(.unavailable, "the download of \(digest) ended after \(have) of \(size) bytes")
        }
        return hasher
    }
}
