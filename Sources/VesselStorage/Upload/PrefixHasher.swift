import Foundation
import NIOPosix
import Synchronization
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// The SHA-256 of a file that an upload session fills chunk by chunk, computed while it fills,
/// with the digests of its pieces in the same pass (``PieceHasher``, decision 0038).
///
/// As soon as the chunks from the start of the file are recorded without a gap, a background
/// pass hashes them from the file (read around the page cache where the file system allows
/// it, as the chunks were written: decision 0008), so completing the session
/// only hashes the chunks that arrived last, and no pass ever runs on the request's thread.
///
/// Each recorded chunk carries a tag that names its bytes (the S3 store records the part's MD5;
/// the filesystem store, whose stored chunks never change, records none). A chunk recorded
/// again with another tag after it was hashed makes ``digest(_:chunks:)`` return nil, and the
/// caller hashes the whole file itself.
///
/// State lives in memory: after a restart a session starts untracked, and the store either
/// records its stored chunks again or falls back to hashing the whole file.
final class PrefixHasher: Sendable {
    private struct File: Sendable {
        /// Read-only descriptor, closed by ``stop(_:)``. Every read works on its own `dup` of
        /// it, so stopping never pulls a descriptor from under a running read.
        var fd: Int32
        /// A second, direct descriptor (nil: the file system refuses one), closed with `fd`.
        var direct: Int32?
        /// Tells a finishing pass whether its session was stopped (and maybe tracked anew).
        let generation = UUID()
        var tags: [Int: String] = [:]
        var ranges: [Int: Range<UInt64>] = [:]
        /// The hash of chunks 0..<hashed.count, and the tag each had when it was hashed.
        var hasher: PieceHasher
        var hashed: [String] = []
        /// A background pass holds `hasher` (nil: none running).
        var pass: Task<Void, Never>?
        /// A chunk writer holds `hasher`, hashing the next chunk as its bytes arrive.
        var streaming = false
    }

    /// The hash state a chunk writer took to extend with the chunk's bytes as they arrive.
    struct Frontier: Sendable {
        var hasher: PieceHasher
        fileprivate let generation: UUID
    }

    let threadPool: NIOThreadPool
    /// The piece size hashed along (nil: none).
    let pieceSize: Int64?
    private let files = Mutex<[String: File]>([:])
    /// Bytes hashed by reading the file back (the rest was hashed as it arrived).
    let bytesReadBack = Atomic<UInt64>(0)

    init(threadPool: NIOThreadPool, pieceSize: Int64?) {
        self.threadPool = threadPool
        self.pieceSize = pieceSize
    }

    /// Starts tracking session `id`, whose bytes are in the file at `path`. Returns false when
    /// it was tracked already or the file cannot be opened (the session is then untracked and
    /// its completion hashes the whole file).
    @discardableResult
    func track(_ id: String, path: String) -> Bool {
        files.withLock { files -> Bool in
            guard files[id] == nil else { return false }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return false }
            files[id] = File(fd: fd, direct: DirectIO.open(path, flags: O_RDONLY), hasher: PieceHasher(pieceSize: pieceSize))
            return true
        }
    }

    func isTracking(_ id: String) -> Bool {
        files.withLock { $0[id] != nil }
    }

    /// Chunk `chunk` lies at `range` of the file and is final with the bytes `tag` names.
    func recorded(_ id: String, chunk: Int, tag: String, range: Range<UInt64>) {
        files.withLock {
            $0[id]?.tags[chunk] = tag
            $0[id]?.ranges[chunk] = range
        }
        advance(id)
    }

    /// When `chunk` is the next one to hash, not yet recorded, and nothing else holds the hash
    /// state, hands that state to the caller, which feeds the chunk's bytes into it as they
    /// arrive (no read back from disk afterwards) and must call ``finishFrontier(_:chunk:claim:extended:)``
    /// once, with the extended state after the chunk is stored, or nil when it is not.
    func claimFrontier(_ id: String, chunk: Int) -> Frontier? {
        files.withLock { files -> Frontier? in
            guard var file = files[id], file.pass == nil, !file.streaming, file.hashed.count == chunk, file.tags[chunk] == nil else { return nil }
            file.streaming = true
            files[id] = file
            return Frontier(hasher: file.hasher, generation: file.generation)
        }
    }

    /// Returns the hash state taken by ``claimFrontier(_:chunk:)`` as `claim`: `extended` over
    /// chunk `chunk` (stored for good, with an empty tag), or nil to leave the state as it
    /// was. Background passes resume either way.
    func finishFrontier(_ id: String, chunk: Int, claim: Frontier, extended: PieceHasher?) {
        files.withLock { files in
            guard var file = files[id], file.generation == claim.generation, file.streaming else { return }
            file.streaming = false
            if let extended, file.hashed.count == chunk {
                file.hasher = extended
                file.hashed.append("")
            }
            files[id] = file
        }
        advance(id)
    }

    /// Chunk `chunk` is no longer known to be final.
    func forget(_ id: String, chunk: Int) {
        files.withLock { _ = $0[id]?.tags.removeValue(forKey: chunk) }
    }

    /// The tag of every recorded chunk.
    func tags(_ id: String) -> [Int: String] {
        files.withLock { $0[id]?.tags ?? [:] }
    }

    /// Starts a background pass over the recorded chunks that follow the hashed prefix, unless
    /// one runs (it calls this again when done).
    private func advance(_ id: String) {
        files.withLock { files in
            guard var file = files[id], file.pass == nil, !file.streaming else { return }
            var ranges: [Range<UInt64>] = [], tags: [String] = []
            var next = file.hashed.count
            while let tag = file.tags[next], let range = file.ranges[next] {
                ranges.append(range)
                tags.append(tag)
                next += 1
            }
            guard !ranges.isEmpty else { return }
            guard let (fd, direct) = Self.dup(file) else { return }
            let generation = file.generation, start = file.hasher, work = ranges, done = tags
            file.pass = Task {
                self.bytesReadBack.add(work.reduce(0) { $0 + UInt64($1.count) }, ordering: .relaxed)
                let hashed = try? await self.threadPool.runIfActive {
                    var hasher = start
                    try Self.hash(fd: fd, direct: direct, ranges: work, into: &hasher)
                    return hasher
                }
                close(fd)
                if let direct { close(direct) }
                let advanced = self.files.withLock { files -> Bool in
                    guard files[id]?.generation == generation else { return false }
                    files[id]?.pass = nil
                    guard let hashed else { return false }
                    files[id]?.hasher = hashed
                    files[id]?.hashed += done
                    return true
                }
                if advanced { self.advance(id) }
            }
            files[id] = file
        }
    }

    /// The file's digest (and its pieces) from the passes made so far plus the chunks after
    /// them, when all `chunks` are recorded; nil when the session is untracked, a chunk is
    /// missing, or a hashed chunk was recorded again with another tag.
    func digest(_ id: String, chunks: Int) async throws -> (digest: Digest, pieces: [String]?)? {
        while let pass = files.withLock({ $0[id]?.pass }) { await pass.value }
        guard let (fd, direct, hasher, rest) = files.withLock({ files -> (Int32, Int32?, PieceHasher, [Range<UInt64>])? in
            guard let file = files[id], file.tags.count == chunks, file.hashed.count <= chunks,
                  file.hashed.indices.allSatisfy({ file.tags[$0] == file.hashed[$0] }) else { return nil }
            var rest: [Range<UInt64>] = []
            for chunk in file.hashed.count..<chunks {
                guard let range = file.ranges[chunk] else { return nil }
                rest.append(range)
            }
            return Self.dup(file).map { ($0.fd, $0.direct, file.hasher, rest) }
        }) else { return nil }
        defer {
            close(fd)
            if let direct { close(direct) }
        }
        bytesReadBack.add(rest.reduce(0) { $0 + UInt64($1.count) }, ordering: .relaxed)
        let final = try await threadPool.runIfActive {
            var hasher = hasher
            try Self.hash(fd: fd, direct: direct, ranges: rest, into: &hasher)
            return hasher
        }
        guard let digest = final.digest else { return nil }
        return (digest, final.pieces)
    }

    /// Forgets a session and closes its file; a pass still running finishes on its own copy
    /// of the descriptor and is dropped.
    func stop(_ id: String) {
        guard let file = files.withLock({ $0.removeValue(forKey: id) }) else { return }
        file.pass?.cancel()
        close(file.fd)
        if let direct = file.direct { close(direct) }
    }

    /// Copies of a file's descriptors for one read (nil when `dup` fails).
    private static func dup(_ file: File) -> (fd: Int32, direct: Int32?)? {
        let fd = Glibc.dup(file.fd)
        guard fd >= 0 else { return nil }
        let direct = file.direct.map { Glibc.dup($0) }
        return (fd, direct.flatMap { $0 >= 0 ? $0 : nil })
    }

    /// Feeds `ranges` of the file into `hasher`, through `direct` when given.
    static func hash(fd: Int32, direct: Int32?, ranges: [Range<UInt64>], into hasher: inout PieceHasher) throws {
        let scratch = DirectIO.borrow(DirectIO.pooledSize)
        defer { DirectIO.giveBack(scratch) }
        for range in ranges {
            let end: UInt64
            do {
                end = try DirectIO.read(fd: fd, direct: direct, range: range, scratch: scratch) { hasher.update(bufferPointer: $0) }
            } catch {
                throw FileIOError.map(error.code, doing: "hash an upload")
            }
            guard end == range.upperBound else { throw FileIOError.map(EIO, doing: "hash an upload") }
        }
    }
}
