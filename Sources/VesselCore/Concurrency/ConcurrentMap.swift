import Dispatch
import Foundation
import Synchronization

// Vessel's two bounded maps, `(0..<count).map(body)` with several items at once and the
// results by index. Use one of these rather than a hand-rolled worker loop:
//
// - `concurrentMap(count:width:order:_:)` is the async flavour: child tasks of a task group,
//   for work that awaits (network, object storage) or runs inside async code (hashing a
//   folder for a push, the server's scan validator). The tasks share Swift's cooperative
//   pool, so `width` is an upper bound, not a promise.
// - `parallelMap(count:threads:_:)` is the synchronous flavour: it owns its threads, so it
//   runs exactly `min(threads, count)` items at once however busy the machine is (the
//   scanner's `--jobs`).

/// Runs `body` for every index in `0..<count`, at most `width` at a time, starting them in
/// `order` (ascending when nil) and starting the next as soon as one finishes; returns the
/// results by index. The first error cancels the others and is rethrown.
public func concurrentMap<R: Sendable>(
    count: Int, width: Int, order: [Int]? = nil, _ body: @escaping @Sendable (Int) async throws -> R
) async throws -> [R] {
    let order = order ?? Array(0..<count)
    precondition(order.count == count, "order must list every index once")
    var results = [R?](repeating: nil, count: count)
    try await withThrowingTaskGroup(of: (Int, R).self) { group in
        var next = 0
        func startOne() {
            let index = order[next]
            next += 1
            group.addTask { (index, try await body(index)) }
        }
        for _ in 0..<min(max(1, width), count) { startOne() }
        while let (index, result) = try await group.next() {
            results[index] = result
            if next < count { startOne() }
        }
    }
    return results.map { $0! }
}

/// `(0..<count).map(transform)`, run on `min(threads, count)` threads (at least one) that each
/// take the next index as they finish one: items may differ in cost by orders of magnitude, so
/// fixed slices would leave a thread idle behind the one that drew the big item.
///
/// The map owns its threads (the caller's plus `threads - 1` it starts) rather than asking
/// Dispatch for them: `concurrentPerform` lends no second thread while every core is busy,
/// so "run on `threads` threads" would be a hope, not a promise. The kernel shares the cores
/// among the threads; on a loaded machine they simply run slower. Returns when every item is
/// done; the started threads have then finished.
public func parallelMap<T: Sendable>(count: Int, threads: Int, _ transform: @Sendable (Int) -> T) -> [T] {
    let workers = min(max(threads, 1), count)
    guard workers > 1 else { return (0..<count).map(transform) }
    let next = Atomic<Int>(0)
    return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        // Each index is claimed by exactly one thread, so the writes never overlap, and
        // every thread has finished before the buffer is handed back.
        nonisolated(unsafe) let slots = buffer
        withoutActuallyEscaping(transform) { transform in
            let drain: @Sendable () -> Void = {
                while true {
                    let index = next.add(1, ordering: .relaxed).oldValue
                    guard index < count else { return }
                    (slots.baseAddress! + index).initialize(to: transform(index))
                }
            }
            let finished = DispatchSemaphore(value: 0)
            for _ in 1..<workers {
                // The thread lets go of `drain` (and so of `transform`) before it reports done:
                // a `Thread` keeps its block until it exits, and `withoutActuallyEscaping`
                // traps if `transform` is still referenced when the map returns.
                let handoff = Handoff(drain)
                let thread = Thread {
                    handoff.run()
                    finished.signal()
                }
                thread.stackSize = 8 << 20  // as much as the main thread and Dispatch workers get
                thread.start()
            }
            drain()
            for _ in 1..<workers { finished.wait() }
        }
        initialized = count
    }
}

/// Work handed to one thread, dropped as soon as it has run.
private final class Handoff: @unchecked Sendable {
    // Set before the thread starts, read and cleared only by that thread.
    private var work: (@Sendable () -> Void)?

    init(_ work: @escaping @Sendable () -> Void) { self.work = work }

    func run() {
        guard let work else { return }
        self.work = nil
        work()
    }
}
