import struct Crypto.SHA256
import Foundation
import Synchronization
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Downloads one blob into the cache: into a partial file named by its digest, resuming with
/// `Range` after an interruption, hashing every byte, renamed into the cache only when the
/// digest and size match.
///
/// A large blob with `streams` > 1 comes in parts of `partSize` bytes over that many
/// connections at once (ranged GETs; the server, or the object storage it redirects to, serves
/// each independently). Parts land at their offsets in the partial file, a journal next to it
/// (`PartJournal`) records what arrived, and the bytes are hashed in file order from memory as
/// they arrive, on a task of their own (`OrderedHasher`); only bytes a resumed download already
/// held, pieces from peers and parts that ran more than `reorderBudget` ahead are read back
/// from the file. A resumed download fetches only the ranges the journal lacks.
/// Without a journal the partial file holds a prefix: the single-stream download appends to it.
///
/// The pieces: this file chooses the strategy and verifies; `Downloader+WholeBlob.swift` and
/// `Downloader+RangedParts.swift` are the two strategies, `Downloader+Requests.swift` the GET
/// with its redirect, `Downloader+Receive.swift` the body written to the file;
/// `RetryPolicy`, `PartialFile`, `PartJournal` and `Parts` are the units they share.
struct Downloader: Sendable {
    let api: APIClient
    let cache: BlobCache
    let progress: TransferProgress?
    /// When a failed attempt is tried again (each resumes where the last one stopped); an
    /// outage is waited out as the client's retry budget allows.
    var retry = RetryPolicy.download
    /// Connections for one blob.
    var streams = 1
    /// Bytes per ranged request when `streams` > 1; blobs smaller than `partsAtLeast` parts use
    /// one stream.
    /// At equal speeds the other connections run up to (`streams` - 1) parts ahead of the
    /// hashing point, which `reorderBudget` holds in memory.
    var partSize: UInt64 = 16 << 20
    /// Bytes of ranged parts ahead of the hashing point kept in memory to be hashed there; what
    /// arrives beyond it is read back from the partial file when the hashing point gets there.
    var reorderBudget: Int {
        get { heldAhead ?? (streams - 1) * Int(partSize) + Self.hashingBudget }
        set { heldAhead = newValue }
    }
    var heldAhead: Int?
    /// Where the bytes were hashed from (tests and benchmarks); nil: not counted.
    var hashCounts: HashCounts?
    /// Parts a blob needs to come in parts: four of 16 MiB, so blobs from 64 MiB on, as when
    /// parts were 32 MiB and two were needed (a smaller blob gains little from parts).
    static let partsAtLeast: UInt64 = 4
    /// How far the hashing of a single stream may fall behind its receiving before the
    /// connection waits.
    static let hashingBudget = 8 << 20
    /// Bytes a stream stages before a direct write: large writes keep the disk busy with
    /// fewer, longer requests (4 streams × 1 MiB pulled 2 GiB in 4.7–5.0 s, × 8 MiB in 3.7–4.2 s).
    static let stagingSize = 8 << 20
    /// Peers to fetch pieces from (`--peers auto`); nil: the origin only.
    var peers: PeerSession?

    /// Returns the cached path and the number of bytes transferred.
    func fetch(model: ModelName, digest: Digest, size: UInt64) async throws -> (path: String, transferred: UInt64) {
        let transferred = Tally()
        // One process downloads a blob into a shared cache; the others wait for it (`BlobClaim`).
        let claimed = try await cache.whileClaimed(digest, size: size) {
            try await retry.waitingOutages(like: api.retry).run {
                try await attemptFetch(model: model, digest: digest, size: size, transferred: transferred)
            }
        }
        if let claimed { return (claimed, transferred.total) }
        guard let path = cache.lookup(digest, size: size, verify: false) else {
            throw VesselError(.unavailable, "\(digest) left the cache as soon as another process put it there")
        }
        return (path, 0)
    }

    private func attemptFetch(model: ModelName, digest: Digest, size: UInt64, transferred: Tally) async throws -> String {
        let partial = cache.partialPath(of: digest)
        let file = try PartialFile(opening: partial)
        defer { file.close() }
        let journal = PartJournal(path: partial + ".parts")
        var hasher: SHA256
        if let pieces = await peerPieces(model: model, digest: digest, size: size) {
            // Pieces from peers, each checked; the whole-file digest is still checked below.
            hasher = try await fetchInParts(model: model, digest: digest, size: size, file: file, journal: journal, transferred: transferred, peers: pieces)
        } else if journal.exists || (streams > 1 && size >= Self.partsAtLeast * partSize) {
            do {
                hasher = try await fetchInParts(model: model, digest: digest, size: size, file: file, journal: journal, transferred: transferred)
            } catch is RangeIgnored {
                // The server sends whole blobs only: start over on one stream.
                journal.remove()
                file.truncate()
                hasher = try await fetchSequentially(model: model, digest: digest, size: size, file: file, transferred: transferred)
            }
        } else {
            hasher = try await fetchSequentially(model: model, digest: digest, size: size, file: file, transferred: transferred)
        }
        let actual = Digest(bytes: hasher.finalize())
        guard actual == digest else {
            unlink(partial)
            journal.remove()
            throw VesselError(.digestMismatch, "downloaded bytes hash to \(actual), not \(digest); the partial file was discarded")
        }
        file.sync()
        let path = try cache.insert(verifiedFile: partial, digest: digest)
        journal.remove()
        return path
    }
}

/// Bytes transferred over all attempts of one download.
final class Tally: Sendable {
    private let count = Mutex<UInt64>(0)
    func add(_ bytes: UInt64) { count.withLock { $0 += bytes } }
    var total: UInt64 { count.withLock { $0 } }
}
