import Foundation
import Synchronization
import VesselCore

/// Request latencies in buckets 5% wide from 10 µs up (about an hour at the top), so a p99 is
/// exact to within 5% whatever the traffic, in constant memory.
public struct LatencyHistogram: Sendable, Equatable {
    static let base = 10.0
    static let ratio = 1.05
    static let bucketCount = 400
    private static let logRatio = log(ratio)

    private(set) var counts = [Int](repeating: 0, count: bucketCount)
    public private(set) var total = 0

    public init() {}

    static func bucket(micros: Double) -> Int {
        guard micros > base else { return 0 }
        return min(bucketCount - 1, Int(log(micros / base) / logRatio) + 1)
    }

    /// The upper bound of a bucket, in microseconds.
    static func upperBound(_ bucket: Int) -> Double { base * pow(ratio, Double(bucket)) }

    public mutating func record(micros: Double) {
        counts[Self.bucket(micros: micros)] += 1
        total += 1
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        total += other.total
    }

    /// The `q` quantile (0...1) in milliseconds, at its bucket's upper bound; nil when empty.
    public func quantileMs(_ q: Double) -> Double? {
        guard total > 0 else { return nil }
        let rank = max(1, Int((q * Double(total)).rounded(.up)))
        var seen = 0
        for (index, count) in counts.enumerated() where count > 0 {
            seen += count
            if seen >= rank { return Self.upperBound(index) / 1000 }
        }
        return Self.upperBound(counts.count - 1) / 1000
    }
}

/// What one pool served since the last report, for the version (digest) it served.
public struct PoolWindow: Sendable, Equatable {
    public var requests = 0
    /// 5xx answers and upstream failures (answered 502).
    public var errors = 0
    public var latency = LatencyHistogram()

    public init() {}
}

/// Requests, errors and latency per pool and digest, since the last `drain()`.
public final class PoolStats: Sendable {
    public struct Key: Hashable, Sendable {
        public let slot: DeploymentSlot
        public let digest: Digest
    }

    private let windows = Mutex<[Key: PoolWindow]>([:])

    public init() {}

    public func record(slot: DeploymentSlot, digest: Digest, micros: Double, error: Bool) {
        windows.withLock { windows in
            let key = Key(slot: slot, digest: digest)
            windows[key, default: PoolWindow()].requests += 1
            if error { windows[key, default: PoolWindow()].errors += 1 }
            windows[key, default: PoolWindow()].latency.record(micros: micros)
        }
    }

    /// Everything recorded since the last drain, and a fresh start.
    public func drain() -> [Key: PoolWindow] {
        windows.withLock { windows in
            defer { windows = [:] }
            return windows
        }
    }
}
