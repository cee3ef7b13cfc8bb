import Synchronization

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

    /// The parts a blob of `size` bytes still needs: each gap between the `received` ranges,
    /// cut into pieces of at most `partSize` bytes, in file order.
    static func plan(received: [Range<UInt64>], size: UInt64, partSize: UInt64) -> [Range<UInt64>] {
        var queue: [Range<UInt64>] = []
        for gap in PartJournal.gaps(in: received, size: size) {
            var start = gap.lowerBound
            while start < gap.upperBound {
                let end = min(start + partSize, gap.upperBound)
                queue.append(start..<end)
                start = end
            }
        }
        return queue
    }

    func next() -> Range<UInt64>? { state.withLock { $0.queue.popFirst() } }

    /// Puts back a part that failed at one source, to be fetched next from another.
    func requeue(_ part: Range<UInt64>) { state.withLock { $0.queue.insert(part, at: $0.queue.startIndex) } }

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

    /// Where the received range holding byte `offset` ends (`offset` when none holds it): how
    /// far the file can be read from there.
    func receivedEnd(from offset: UInt64) -> UInt64 {
        state.withLock { $0.received.first { $0.contains(offset) }?.upperBound ?? offset }
    }
}
