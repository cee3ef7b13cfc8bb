import NIOCore
import Synchronization

/// A bounded hand-over of buffers from a writer (`send`, which waits while `capacity` buffers
/// are queued) to a request body that AsyncHTTPClient streams (`next`). Either side can end
/// it: `finish()` after the last buffer, `fail(_:)` when the upload or the writer gave up.
final class ByteBufferPipe: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    private struct State {
        var queue: [ByteBuffer] = []
        var finished = false
        var failure: (any Error)?
        var consumer: CheckedContinuation<ByteBuffer?, any Error>?
        var producer: CheckedContinuation<Void, any Error>?
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = 4) { self.capacity = Swift.max(1, capacity) }

    /// Queues a buffer, waiting while the queue is full. - Throws: the failure that ended the pipe.
    func send(_ buffer: ByteBuffer) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resume: (() -> Void)? = state.withLock { state in
                if let failure = state.failure { return { continuation.resume(throwing: failure) } }
                if let consumer = state.consumer {
                    state.consumer = nil
                    return { consumer.resume(returning: buffer); continuation.resume() }
                }
                state.queue.append(buffer)
                if state.queue.count < capacity { return { continuation.resume() } }
                state.producer = continuation
                return nil
            }
            resume?()
        }
    }

    /// No more buffers will come.
    func finish() {
        let consumer = state.withLock { state -> CheckedContinuation<ByteBuffer?, any Error>? in
            state.finished = true
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume(returning: nil)
    }

    /// Ends the pipe with an error for whichever side waits or comes next.
    func fail(_ error: any Error) {
        let (consumer, producer) = state.withLock { state in
            if state.failure == nil { state.failure = error }
            state.queue.removeAll()
            defer { state.consumer = nil; state.producer = nil }
            return (state.consumer, state.producer)
        }
        consumer?.resume(throwing: error)
        producer?.resume(throwing: error)
    }

    func next() async throws -> ByteBuffer? {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ByteBuffer?, any Error>) in
            let resume: (() -> Void)? = state.withLock { state in
                if let failure = state.failure { return { continuation.resume(throwing: failure) } }
                if !state.queue.isEmpty {
                    let buffer = state.queue.removeFirst()
                    let producer = state.producer
                    state.producer = nil
                    return { continuation.resume(returning: buffer); producer?.resume() }
                }
                if state.finished { return { continuation.resume(returning: nil) } }
                state.consumer = continuation
                return nil
            }
            resume?()
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let pipe: ByteBufferPipe
        mutating func next() async throws -> ByteBuffer? { try await pipe.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pipe: self) }
}
