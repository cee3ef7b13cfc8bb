import struct Crypto.SHA256
import NIOCore
import Synchronization
import VesselCore
import VesselSigning

/// Hashes one blob's bytes in file order on a task of its own (`run`), fed with the chunks the
/// connections receive (`submit`), so receiving and writing go on while earlier bytes are
/// hashed, and every byte that arrives is hashed from memory exactly once.
///
/// The hashing point (`frontier`) moves through the blob in order. A chunk that starts there is
/// always taken; a chunk ahead of it (another connection's part) waits in memory while the
/// chunks held stay within `budget` bytes. Past the budget, a chunk ahead makes its connection
/// wait for room while the hashing is behind (the chunk at the hashing point is already held:
/// reading bytes back would only add work to the bottleneck). With `.spill` (ranged parts), a
/// chunk ahead that finds the hashing idle, waiting for a slower connection, is only written,
/// so a fast connection never waits for a slow one; a spilled range, like one a resumed
/// download already holds or a piece a peer sent, is read back from the partial file once
/// `durable` says it is there. That read-back is the one second pass left, and only for those
/// bytes (docs/transfers.md).
final class OrderedHasher: Sendable {
    /// What a chunk ahead of the hashing point does when the budget is spent.
    enum Overflow: Sendable {
        /// Its connection waits until there is room (or the chunk is next).
        case wait
        /// It is not kept when the hashing is idle (waiting for a slower connection): its
        /// bytes are read back from the file when the hashing point reaches them. While the
        /// hashing is behind, its connection waits as with `.wait`.
        case spill
    }

    private struct Waiting {
        let offset: UInt64
        let chunk: ByteBuffer
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var frontier: UInt64
        var pending: [UInt64: ByteBuffer] = [:]
        var pendingBytes = 0
        var waiting: [Waiting] = []
        var consumer: CheckedContinuation<Void, Never>?
        /// Something changed since the hashing task last looked.
        var signalled = false
        var finished = false
        var failed = false
        var fromMemory: UInt64 = 0
        var fromFile: UInt64 = 0

        func admits(_ offset: UInt64, _ count: Int, budget: Int) -> Bool {
            offset == frontier || pendingBytes + count <= budget
        }

        mutating func keep(_ chunk: ByteBuffer, at offset: UInt64) {
            var chunk = chunk
            var offset = offset
            // Bytes the hashing point already passed (read back from the file) are not kept.
            if offset < frontier {
                let skip = Int(min(frontier - offset, UInt64(chunk.readableBytes)))
                chunk.moveReaderIndex(forwardBy: skip)
                offset += UInt64(skip)
                if chunk.readableBytes == 0 { return }
            }
            pending[offset] = chunk
            pendingBytes += chunk.readableBytes
        }

        /// Whether the hashing is behind: the chunk at the hashing point is already held.
        var hashingBehind: Bool { pending[frontier] != nil }

        /// Takes the waiting chunks that now fit, and with `spill` lets go of the others once
        /// the hashing is no longer behind (their bytes will be read back); their connections
        /// are resumed by the caller.
        mutating func admitWaiting(budget: Int, spill: Bool) -> [CheckedContinuation<Void, any Error>] {
            guard !waiting.isEmpty else { return [] }
            var resumed: [CheckedContinuation<Void, any Error>] = []
            var still: [Waiting] = []
            for entry in waiting {
                if admits(entry.offset, entry.chunk.readableBytes, budget: budget) {
                    keep(entry.chunk, at: entry.offset)
                    resumed.append(entry.continuation)
                } else if spill && !hashingBehind {
                    resumed.append(entry.continuation)
                } else {
                    still.append(entry)
                }
            }
            waiting = still
            return resumed
        }

        mutating func wakeConsumer() -> CheckedContinuation<Void, Never>? {
            if let consumer {
                self.consumer = nil
                return consumer
            }
            signalled = true
            return nil
        }
    }

    private enum Work {
        case memory(ByteBuffer)
        case file(Range<UInt64>)
        case done
        case failed
    }

    let budget: Int
    let overflow: Overflow
    private let state: Mutex<State>

    /// Hashing starts at byte `start` (the bytes before it are in the hasher handed to `run`).
    init(from start: UInt64, budget: Int, overflow: Overflow) {
        self.budget = budget
        self.overflow = overflow
        state = Mutex(State(frontier: start))
    }

    /// Hands over the chunk received at `offset`. Returns at once unless the policy is
    /// `.wait` and the budget is spent; throws when the download was abandoned (`fail`).
    func submit(_ chunk: ByteBuffer, at offset: UInt64) async throws {
        guard chunk.readableBytes > 0 else { return }
        enum Outcome { case kept(CheckedContinuation<Void, Never>?), dropped, wait, failed }
        let outcome = state.withLock { state -> Outcome in
            if state.failed { return .failed }
            if state.admits(offset, chunk.readableBytes, budget: budget) {
                state.keep(chunk, at: offset)
                return .kept(state.wakeConsumer())
            }
            return overflow == .spill && !state.hashingBehind ? .dropped : .wait
        }
        switch outcome {
        case .kept(let consumer): consumer?.resume()
        case .dropped: return
        case .failed: throw CancellationError()
        case .wait:
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let now = state.withLock { state -> Result<CheckedContinuation<Void, Never>?, CancellationError>? in
                        if state.failed { return .failure(CancellationError()) }
                        if state.admits(offset, chunk.readableBytes, budget: budget) {
                            state.keep(chunk, at: offset)
                            return .success(state.wakeConsumer())
                        }
                        if overflow == .spill && !state.hashingBehind { return .success(nil) }
                        state.waiting.append(Waiting(offset: offset, chunk: chunk, continuation: continuation))
                        return nil
                    }
                    switch now {
                    case .success(let consumer)?:
                        consumer?.resume()
                        continuation.resume()
                    case .failure(let error)?: continuation.resume(throwing: error)
                    case nil: break
                    }
                }
            } onCancel: {
                fail()
            }
        }
    }

    /// More of the file may be on disk (`durable` may say more): look again.
    func yield() {
        state.withLock { $0.wakeConsumer() }?.resume()
    }

    /// No more chunks come: `run` hashes what is left and returns.
    func finish() {
        state.withLock { state in
            state.finished = true
            return state.wakeConsumer()
        }?.resume()
    }

    /// The download is abandoned: waiting connections and `run` stop with `CancellationError`.
    func fail() {
        let (waiting, consumer) = state.withLock { state in
            state.failed = true
            let waiting = state.waiting.map(\.continuation)
            state.waiting = []
            state.pending = [:]
            state.pendingBytes = 0
            return (waiting, state.wakeConsumer())
        }
        for continuation in waiting { continuation.resume(throwing: CancellationError()) }
        consumer?.resume()
    }

    /// Bytes hashed from memory and read back from the file so far.
    var counts: (memory: UInt64, file: UInt64) { state.withLock { ($0.fromMemory, $0.fromFile) } }

    /// Hashes until `finish` and nothing more is available; returns the hasher and where
    /// hashing stopped. `durable(offset)` is where the bytes on disk from `offset` on end
    /// (`offset` when none are). Run it on a task of its own.
    func run(hasher initial: SHA256, file: PartialFile, durable: @Sendable (UInt64) -> UInt64) async throws -> (SHA256, UInt64) {
        var hasher = initial
        var scratch: UnsafeMutableRawBufferPointer?
        defer { scratch?.deallocate() }
        while true {
            let frontier = state.withLock { $0.frontier }
            let onDisk = durable(frontier)
            let (work, resumed) = state.withLock { state -> (Work?, [CheckedContinuation<Void, any Error>]) in
                if state.failed { return (.failed, []) }
                if let chunk = state.pending.removeValue(forKey: state.frontier) {
                    state.pendingBytes -= chunk.readableBytes
                    state.frontier += UInt64(chunk.readableBytes)
                    state.fromMemory += UInt64(chunk.readableBytes)
                    return (.memory(chunk), state.admitWaiting(budget: budget, spill: overflow == .spill))
                }
                if onDisk > state.frontier {
                    // Up to the next chunk held in memory, which is hashed from there.
                    let next = state.pending.keys.filter { $0 > state.frontier }.min() ?? .max
                    let range = state.frontier..<min(onDisk, next, state.frontier + UInt64(FileHasher.chunkSize))
                    state.frontier = range.upperBound
                    state.fromFile += UInt64(range.count)
                    return (.file(range), state.admitWaiting(budget: budget, spill: overflow == .spill))
                }
                return (state.finished ? .done : nil, [])
            }
            for continuation in resumed { continuation.resume() }
            switch work {
            case .memory(let chunk)?:
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            case .file(let range)?:
                if scratch == nil { scratch = DirectIO.allocate(FileHasher.chunkSize) }
                let end = try file.hash(range, into: &hasher, scratch: scratch)
                guard end == range.upperBound else {
                    throw VesselError(.unavailable, "the partial download became shorter than byte \(range.upperBound)")
                }
            case .done?:
                return (hasher, state.withLock { $0.frontier })
            case .failed?:
                throw CancellationError()
            case nil:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { state -> Bool in
                        if state.signalled {
                            state.signalled = false
                            return true
                        }
                        state.consumer = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            }
        }
    }
}

/// Bytes a download hashed from memory and read back from its partial file, over all its
/// blobs and attempts.
final class HashCounts: Sendable {
    private let counts = Mutex<(memory: UInt64, file: UInt64)>((0, 0))
    func add(_ feed: OrderedHasher) {
        let (memory, file) = feed.counts
        counts.withLock { $0 = ($0.memory + memory, $0.file + file) }
    }
    var memory: UInt64 { counts.withLock { $0.memory } }
    var file: UInt64 { counts.withLock { $0.file } }
}
