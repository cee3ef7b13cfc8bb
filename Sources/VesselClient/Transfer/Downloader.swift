import AsyncHTTPClient
import struct Crypto.SHA256
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import VesselCore
import VesselSigning

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
/// (`<hex>.partial.parts`, one "start end" line per received range) records what arrived, and
/// the bytes are hashed in file order as the received prefix grows. A resumed download fetches
/// only the ranges the journal lacks. Without a journal the partial file holds a prefix: the
/// single-stream download appends to it.
struct Downloader: Sendable {
    let api: APIClient
    let cache: BlobCache
    let progress: TransferProgress?
    static let attempts = 4
    /// Connections for one blob.
    var streams = 1
    /// Bytes per ranged request when `streams` > 1; blobs smaller than two parts use one stream.
    var partSize: UInt64 = 32 << 20
    /// Bytes a stream stages before a direct write: large writes keep the disk busy with
    /// fewer, longer requests (4 streams × 1 MiB pulled 2 GiB in 4.7–5.0 s, × 8 MiB in 3.7–4.2 s).
    static let stagingSize = 8 << 20

    /// Returns the cached path and the number of bytes transferred.
    func fetch(model: ModelName, digest: Digest, size: UInt64) async throws -> (path: String, transferred: UInt64) {
        let transferred = Tally()
        var lastError: (any Error)?
        for attempt in 1...Self.attempts {
            do {
                let path = try await attemptFetch(model: model, digest: digest, size: size, transferred: transferred)
                return (path, transferred.total)
            } catch let error as VesselError where error.code != .unavailable {
                throw error
            } catch {
                lastError = error
                if attempt < Self.attempts { try await Task.sleep(for: .milliseconds(200 * attempt)) }
            }
        }
        throw lastError ?? VesselError(.unavailable, "download of \(digest) failed")
    }

    private func attemptFetch(model: ModelName, digest: Digest, size: UInt64, transferred: Tally) async throws -> String {
        let partial = cache.partialPath(of: digest)
        let fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VesselError.internalError("cannot create \(partial): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // Blob bytes bypass the page cache where they can (decision 0008).
        let file = PartialFile(fd: fd, direct: DirectIO.open(partial, flags: O_RDWR))
        defer { if let direct = file.direct { close(direct) } }
        let journal = PartJournal(path: partial + ".parts")
        var hasher: SHA256
        if journal.exists || (streams > 1 && size >= 2 * partSize) {
            do {
                hasher = try await fetchInParts(model: model, digest: digest, size: size, file: file, journal: journal, transferred: transferred)
            } catch is RangeIgnored {
                // The server sends whole blobs only: start over on one stream.
                journal.remove()
                ftruncate(fd, 0)
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
        fsync(fd)
        let path = try cache.insert(verifiedFile: partial, digest: digest)
        journal.remove()
        return path
    }

    /// One connection, appending to the prefix already in the partial file.
    private func fetchSequentially(model: ModelName, digest: Digest, size: UInt64, file: PartialFile, transferred: Tally) async throws -> SHA256 {
        let fd = file.fd
        var info = stat()
        fstat(fd, &info)
        var have = UInt64(info.st_size)
        if have > size {
            ftruncate(fd, 0)
            have = 0
        }
        // Re-hash the durable prefix so the final digest covers every byte.
        var prefix = SHA256()
        have = try Self.hash(file, 0..<have, into: &prefix)
        var hasher: SHA256? = prefix
        progress?.add(have)
        if have < size {
            let response = try await get(model: model, digest: digest, range: have > 0 ? have..<size : nil)
            if have > 0 && response.status.code != 206 {
                // The server ignored the range: start over.
                ftruncate(fd, 0)
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

    /// Several connections, each fetching parts the journal lacks; hashed in order meanwhile.
    private func fetchInParts(model: ModelName, digest: Digest, size: UInt64, file: PartialFile, journal: PartJournal, transferred: Tally) async throws -> SHA256 {
        let fd = file.fd
        var received: [Range<UInt64>]
        if journal.exists {
            // A journal that cannot be read vouches for nothing: the file may have holes.
            received = journal.read(size: size) ?? []
            if received.isEmpty { ftruncate(fd, 0) }
        } else {
            // A prefix left by a single-stream attempt counts.
            var info = stat()
            fstat(fd, &info)
            let prefix = UInt64(info.st_size) <= size ? UInt64(info.st_size) : 0
            if prefix == 0 { ftruncate(fd, 0) }
            received = prefix > 0 ? [0..<prefix] : []
        }
        try journal.write(received)
        progress?.add(received.reduce(0) { $0 + UInt64($1.count) })
        var queue: [Range<UInt64>] = []
        for gap in PartJournal.gaps(in: received, size: size) {
            var start = gap.lowerBound
            while start < gap.upperBound {
                let end = min(start + partSize, gap.upperBound)
                queue.append(start..<end)
                start = end
            }
        }
        let state = Parts(received: received, queue: queue)
        let (arrivals, arrived) = AsyncStream<Void>.makeStream()
        // Hash in file order as the received prefix grows.
        let hashing = Task { () throws -> (SHA256, UInt64) in
            var hasher = SHA256()
            var hashed: UInt64 = 0
            let scratch = DirectIO.allocate(FileHasher.chunkSize)
            defer { scratch.deallocate() }
            var signals = arrivals.makeAsyncIterator()
            repeat {
                let end = state.prefixEnd
                if end > hashed {
                    hashed = try Self.hash(file, hashed..<end, into: &hasher, scratch: scratch)
                    guard hashed == end else { throw VesselError(.unavailable, "the partial download of \(digest) became shorter") }
                }
            } while await signals.next() != nil
            return (hasher, hashed)
        }
        arrived.yield()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<min(streams, max(queue.count, 1)) {
                    group.addTask {
                        while let part = state.next() {
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
                            try await receive(response, digest: digest, into: file, at: &position, end: part.upperBound, hasher: &none)
                            guard position == part.upperBound else {
                                throw VesselError(.unavailable, "the download of \(digest) was cut at byte \(position)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            arrived.finish()
            hashing.cancel()
            _ = try? await hashing.value
            throw error
        }
        arrived.finish()
        let (hasher, hashed) = try await hashing.value
        guard hashed == size else {
            throw VesselError(.unavailable, "the download of \(digest) ended after \(hashed) of \(size) bytes")
        }
        return hasher
    }

    /// GETs the blob (or `range` of it), following a redirect to object storage.
    private func get(model: ModelName, digest: Digest, range: Range<UInt64>?) async throws -> HTTPClientResponse {
        let header = range.map { "bytes=\($0.lowerBound)-\($0.upperBound - 1)" }
        var request = api.request(.GET, "\(model.apiPath)/blobs/\(digest)")
        if let header { request.headers.add(name: "Range", value: header) }
        let response = try await api.send(request)
        if [301, 302, 303, 307, 308].contains(response.status.code) {
            return try await api.followStorageRedirect(response, range: header)
        }
        return response
    }

    /// Writes the response body at `position` (advanced as bytes land), never past `end`,
    /// feeding `hasher` when given. Bytes received before a failure are written too.
    private func receive(_ response: HTTPClientResponse, digest: Digest, into file: PartialFile, at position: inout UInt64, end: UInt64, hasher: inout SHA256?) async throws {
        let writer = DirectFileWriter(fd: file.fd, direct: file.direct, at: position, capacity: Self.stagingSize)
        do {
            defer { position = writer.written }
            do {
                for try await var chunk in response.body {
                    let count = UInt64(chunk.readableBytes)
                    guard writer.position + count <= end else {
                        throw VesselError(.digestMismatch, "the server sent more bytes of \(digest) than asked for")
                    }
                    chunk.withUnsafeReadableBytes { hasher?.update(bufferPointer: $0) }
                    if writer.writesThrough(chunk.readableBytes) {
                        // The disk write waits on a thread of NIO's blocking pool, not on one
                        // of the few threads every download's receiving and hashing share.
                        let unchecked = UncheckedWriter(writer: writer)
                        try await NIOThreadPool.singleton.runIfActive { [chunk] in
                            try chunk.withUnsafeReadableBytes { try unchecked.writer.write($0) }
                        }
                    } else {
                        try chunk.withUnsafeReadableBytes { try writer.write($0) }
                    }
                    chunk.moveReaderIndex(forwardBy: chunk.readableBytes)
                    progress?.add(count)
                }
            } catch {
                try? writer.flush()
                throw error
            }
            try writer.flush()
        } catch let failure as DirectIO.Failure {
            throw VesselError(.insufficientStorage, "cannot write the download: \(String(cString: strerror(failure.code)))")
        } catch let error as VesselError {
            throw error
        } catch {
            throw VesselError(.unavailable, "the download of \(digest) was cut at byte \(position): \(error)")
        }
    }

    /// Feeds `range` of the partial file into `hasher`; returns where it stopped (short at end of file).
    static func hash(_ file: PartialFile, _ range: Range<UInt64>, into hasher: inout SHA256, scratch: UnsafeMutableRawBufferPointer? = nil) throws -> UInt64 {
        do { return try FileHasher.update(&hasher, fd: file.fd, direct: file.direct, range: range, scratch: scratch) } catch {
            throw VesselError.internalError("cannot read the partial download: \(String(cString: strerror(error.code)))")
        }
    }
}

/// A download's writer handed to a blocking-pool thread for one write, while its task waits.
private struct UncheckedWriter: @unchecked Sendable {
    let writer: DirectFileWriter
}

/// The partial file of a download: its descriptor, and a direct one when the file system
/// allows it (decision 0008).
struct PartialFile: Sendable {
    let fd: Int32
    let direct: Int32?
}

/// Bytes transferred over all attempts of one download.
final class Tally: Sendable {
    private let count = Mutex<UInt64>(0)
    func add(_ bytes: UInt64) { count.withLock { $0 += bytes } }
    var total: UInt64 { count.withLock { $0 } }
}

/// What the connections of one parted download share: the parts left to fetch and the
/// ranges received.
final class Parts: Sendable {
    private struct State {
        var received: [Range<UInt64>]
        var queue: ArraySlice<Range<UInt64>>
    }
    private let state: Mutex<State>

    init(received: [Range<UInt64>], queue: [Range<UInt64>]) {
        state = Mutex(State(received: received, queue: queue[...]))
    }

    func next() -> Range<UInt64>? { state.withLock { $0.queue.popFirst() } }

    /// Adds a received range and rewrites the journal with all of them. The write happens
    /// under the lock: connections finishing together would otherwise share the journal's
    /// temporary file, or an older list could replace a newer one, and a resumed download
    /// would fetch the lost range again.
    func record(_ range: Range<UInt64>, in journal: PartJournal) {
        state.withLock { state in
            state.received = PartJournal.merge(state.received, range)
            // A journal that cannot be written only costs a resumed download some bytes.
            try? journal.write(state.received)
        }
    }

    var prefixEnd: UInt64 { state.withLock { PartJournal.prefixEnd(of: $0.received) } }
}

/// Thrown when a ranged request comes back whole.
private struct RangeIgnored: Error {}

/// The ranges of a blob that reached its partial file, sorted and merged.
struct PartJournal: Sendable {
    let path: String

    var exists: Bool { access(path, F_OK) == 0 }

    /// The recorded ranges; nil when there is no journal or it does not describe a blob of
    /// `size` bytes (the download then starts over).
    func read(size: UInt64) -> [Range<UInt64>]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var ranges: [Range<UInt64>] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let start = UInt64(fields[0]), let end = UInt64(fields[1]), start < end, end <= size else { return nil }
            ranges = Self.merge(ranges, start..<end)
        }
        return ranges
    }

    /// Replaces the journal (temporary file, then rename).
    func write(_ ranges: [Range<UInt64>]) throws {
        let text = ranges.map { "\($0.lowerBound) \($0.upperBound)\n" }.joined()
        let temp = path + ".tmp"
        guard FileManager.default.createFile(atPath: temp, contents: Data(text.utf8)), rename(temp, path) == 0 else {
            throw VesselError.internalError("cannot record the progress of a download in \(path)")
        }
    }

    func remove() { unlink(path) }

    static func merge(_ ranges: [Range<UInt64>], _ new: Range<UInt64>) -> [Range<UInt64>] {
        var result: [Range<UInt64>] = []
        var pending = new
        for range in ranges {
            if range.upperBound < pending.lowerBound || range.lowerBound > pending.upperBound {
                result.append(range)
            } else {
                pending = min(range.lowerBound, pending.lowerBound)..<max(range.upperBound, pending.upperBound)
            }
        }
        result.append(pending)
        return result.sorted { $0.lowerBound < $1.lowerBound }
    }

    static func gaps(in ranges: [Range<UInt64>], size: UInt64) -> [Range<UInt64>] {
        var gaps: [Range<UInt64>] = []
        var next: UInt64 = 0
        for range in ranges {
            if range.lowerBound > next { gaps.append(next..<range.lowerBound) }
            next = max(next, range.upperBound)
        }
        if next < size { gaps.append(next..<size) }
        return gaps
    }

    /// Where the received prefix from byte 0 ends.
    static func prefixEnd(of ranges: [Range<UInt64>]) -> UInt64 {
        ranges.first.map { $0.lowerBound == 0 ? $0.upperBound : 0 } ?? 0
    }
}
