import Foundation
import Synchronization
import VesselCore

/// `vessel serve --egress-limit`: a token bucket shared by every blob byte the server sends
/// (the API's blob route, `/hf`, MLflow artifacts: everything through
/// `ServerMetrics.countingBody`). Meant for benchmarks that stand in for a slow origin
/// (docs/peers.md), not for fair sharing between clients.
///
/// Each send reserves its bytes at once and waits until the bucket would have held them: the
/// balance may go negative, and the next sender waits for it too, so concurrent senders
/// together never get much more than `rate` bytes a second beyond the first `burst`.
public final class EgressLimiter: Sendable {
    /// Bytes per second.
    public let rate: Double
    /// Bytes that may go out at once after an idle spell.
    public let burst: Double
    private let now: @Sendable () -> Double
    private let state: Mutex<(tokens: Double, at: Double)>

    /// - Parameters:
    ///   - bytesPerSecond: the sustained rate, > 0.
    ///   - burst: the bucket's size; a tenth of a second's worth (at least 64 KiB) when nil.
    ///   - now: seconds on a monotonic clock (injected by tests).
    public init(bytesPerSecond: UInt64, burst: UInt64? = nil, now: @escaping @Sendable () -> Double = EgressLimiter.monotonicSeconds) {
        rate = Double(max(bytesPerSecond, 1))
        self.burst = Double(burst ?? max(bytesPerSecond / 10, 64 << 10))
        self.now = now
        state = Mutex((tokens: self.burst, at: now()))
    }

    /// Reserves `count` bytes and answers how many seconds to wait before sending them.
    public func reserve(_ count: Int) -> Double {
        let time = now()
        return state.withLock { state in
            state.tokens = min(burst, state.tokens + (time - state.at) * rate)
            state.at = time
            state.tokens -= Double(count)
            return state.tokens >= 0 ? 0 : -state.tokens / rate
        }
    }

    /// Waits until `count` bytes may be sent.
    public func acquire(_ count: Int) async throws {
        let wait = reserve(count)
        if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
    }

    public static func monotonicSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Parses `--egress-limit`: bytes per second, plain or with a unit: `100MB` (10^6),
    /// `1GB`, `500KB`, or `64MiB`, `1GiB`, `512KiB`; an optional `/s` is ignored.
    public static func parse(_ text: String) throws(VesselError) -> UInt64 {
        var body = text.hasSuffix("/s") ? String(text.dropLast(2)) : text
        let decimal: [(String, UInt64)] = [("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000)]
        for (suffix, scale) in decimal where body.hasSuffix(suffix) {
            body = String(body.dropLast(suffix.count))
            guard let value = UInt64(body), value > 0 else { break }
            let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
            guard !overflow else { break }
            return bytes
        }
        let bad = VesselError.invalidArgument("egress limit '\(text.prefix(40))' must be bytes per second, like 100MB, 64MiB or 1000000")
        guard let bytes = try? ChunkPlan.parseSize(body), bytes > 0 else { throw bad }
        return bytes
    }
}
