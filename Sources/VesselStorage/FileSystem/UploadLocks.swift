import Synchronization
import VesselCore

/// Which chunks are being written and which sessions are completing, in this process, so a
/// chunk is never written by two requests at once and a session never completes under a
/// writer. (One filesystem store is served by one process; an S3 store has no such state.)
final class UploadLocks: Sendable {
    private struct State {
        var chunks: Set<String> = []
        var writers: [String: Int] = [:]
        var completing: Set<String> = []
    }

    private let state = Mutex(State())

    /// - Throws: `unavailable` while the chunk is written by another request or the session completes.
    func lockChunk(_ session: String, _ index: Int) throws(VesselError) {
        let busy = VesselError(.unavailable, "chunk \(index) of upload \(session) is being written by another request; retry shortly")
        try state.withLock { state throws(VesselError) in
            guard !state.completing.contains(session), state.chunks.insert("\(session)#\(index)").inserted else { throw busy }
            state.writers[session, default: 0] += 1
        }
    }

    func unlockChunk(_ session: String, _ index: Int) {
        state.withLock { state in
            guard state.chunks.remove("\(session)#\(index)") != nil else { return }
            state.writers[session, default: 1] -= 1
            if state.writers[session] == 0 { state.writers[session] = nil }
        }
    }

    /// - Throws: `unavailable` while chunks are being written or another completion runs.
    func lockSession(_ session: String) throws(VesselError) {
        try state.withLock { state throws(VesselError) in
            guard state.writers[session] == nil, state.completing.insert(session).inserted else {
                throw VesselError(.unavailable, "upload \(session) still has chunks in flight; retry when they finished")
            }
        }
    }

    func unlockSession(_ session: String) {
        _ = state.withLock { $0.completing.remove(session) }
    }
}
