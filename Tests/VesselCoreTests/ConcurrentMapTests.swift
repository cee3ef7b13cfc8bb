import Dispatch
import Foundation
import Synchronization
import Testing
import VesselCore

/// The two bounded maps: `concurrentMap` (async, task group) and `parallelMap` (sync, owns its threads).
@Suite struct ConcurrentMapTests {
    final class Gauge: Sendable {
        let running = Atomic<Int>(0)
        let most = Atomic<Int>(0)
        let started = Mutex<[Int]>([])
    }

    @Test func resultsComeByIndexWithAtMostWidthRunning() async throws {
        let gauge = Gauge()
        let order = [4, 0, 3, 1, 2, 5, 7, 6]
        let results = try await concurrentMap(count: 8, width: 3, order: order) { index in
            gauge.started.withLock { $0.append(index) }
            let now = gauge.running.add(1, ordering: .relaxed).newValue
            _ = gauge.most.max(now, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(index % 3 == 0 ? 20 : 5))
            gauge.running.subtract(1, ordering: .relaxed)
            return index * 10
        }
        #expect(results == (0..<8).map { $0 * 10 })
        #expect(gauge.most.load(ordering: .relaxed) <= 3)
        // The first `width` start in the order given.
        #expect(Array(gauge.started.withLock { $0 }.prefix(3)).sorted() == [0, 3, 4])
        #expect(try await concurrentMap(count: 0, width: 3) { $0 }.isEmpty)
    }

    @Test func theFirstErrorIsRethrown() async {
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            _ = try await concurrentMap(count: 5, width: 2) { index in
                if index == 2 { throw Boom() }
                return index
            }
        }
    }

    @Test func theParallelMapKeepsOrderWithUnevenCosts() {
        // Every tenth item sleeps, so a thread that drew one falls behind the others.
        let mapped = parallelMap(count: 200, threads: 4) { index -> Int in
            if index % 10 == 0 { usleep(500) }
            return index * 3
        }
        #expect(mapped == (0..<200).map { $0 * 3 })
        #expect(parallelMap(count: 0, threads: 4) { $0 }.isEmpty)
        #expect(parallelMap(count: 3, threads: 0) { $0 } == [0, 1, 2])
    }

    /// `parallelMap` promises its threads however busy the machine is: four items that can only
    /// finish once all four have started. On fewer threads the first item waits out the
    /// (generous) timeout and reports it, so the test fails instead of hanging.
    @Test func theParallelMapRunsJobsItemsAtOnce() {
        let arrived = Mutex(0)
        let allIn = DispatchSemaphore(value: 0)
        let met = parallelMap(count: 4, threads: 4) { _ -> Bool in
            let last = arrived.withLock { count -> Bool in
                count += 1
                return count == 4
            }
            if last {
                for _ in 0..<3 { allIn.signal() }
                return true
            }
            return allIn.wait(timeout: .now() + 30) == .success
        }
        #expect(met == [true, true, true, true])
    }

    /// The started threads must let go of the transform before the map returns
    /// (`withoutActuallyEscaping` traps otherwise); a thread that still held its block after
    /// signalling crashed the process now and then, so run many short maps.
    @Test func manyShortMapsReturnCleanly() {
        // More threads than cores, so that one is often preempted right after it signals.
        for round in 0..<300 {
            #expect(parallelMap(count: 16, threads: 16) { $0 + round } == (0..<16).map { $0 + round })
        }
    }
}
