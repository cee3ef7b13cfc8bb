import Synchronization

/// Counts bytes of a transfer so a progress display can poll it from another task.
public final class TransferProgress: Sendable {
    private let state = Mutex<(phase: String, done: UInt64, total: UInt64)>(("", 0, 0))

    public init() {}

    public func begin(_ phase: String, total: UInt64) {
        state.withLock { $0 = (phase, 0, total) }
    }

    public func add(_ bytes: UInt64) {
        state.withLock { $0.done &+= bytes }
    }

    public var snapshot: (phase: String, done: UInt64, total: UInt64) { state.withLock { $0 } }
}
