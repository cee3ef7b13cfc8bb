import Synchronization
import Testing
import VesselCore

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
}
