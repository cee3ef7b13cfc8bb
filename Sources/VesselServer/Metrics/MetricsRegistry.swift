import Synchronization

/// A small in-process metrics registry rendered in the Prometheus text format (0.0.4).
///
/// Written by hand rather than bootstrapping swift-metrics' global `MetricsSystem`: a library
/// must not set up global state, tests run several servers in one process, and Vessel needs
/// only counters, gauges and one histogram. Each server owns one registry (injected).
public final class MetricsRegistry: Sendable {
    public typealias Labels = [(String, String)]

    private struct Key: Hashable, Comparable {
        var name: String
        var labels: [String]

        static func < (a: Key, b: Key) -> Bool { (a.name, a.labels.joined(separator: "\u{0}")) < (b.name, b.labels.joined(separator: "\u{0}")) }
    }

    private struct Family {
        var kind: String
        var help: String
    }

    private struct HistogramValue {
        var buckets: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    private struct State {
        var families: [String: Family] = [:]
        var values: [Key: Double] = [:]
        var histograms: [Key: HistogramValue] = [:]
        var bounds: [String: [Double]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Declares a metric family so it renders (with HELP and TYPE) even before its first sample.
    public func declare(_ name: String, kind: String, help: String, buckets: [Double] = []) {
        state.withLock { state in
            state.families[name] = Family(kind: kind, help: help)
            if kind == "histogram" { state.bounds[name] = buckets.sorted() }
        }
    }

    public func add(_ name: String, _ labels: Labels = [], _ amount: Double = 1) {
        let key = Self.key(name, labels)
        state.withLock { $0.values[key, default: 0] += amount }
    }

    public func set(_ name: String, _ labels: Labels = [], _ value: Double) {
        let key = Self.key(name, labels)
        state.withLock { $0.values[key] = value }
    }

    public func observe(_ name: String, _ labels: Labels = [], _ value: Double) {
        let key = Self.key(name, labels)
        state.withLock { state in
            let bounds = state.bounds[name] ?? []
            var histogram = state.histograms[key] ?? HistogramValue(buckets: Array(repeating: 0, count: bounds.count))
            for (i, bound) in bounds.enumerated() where value <= bound { histogram.buckets[i] += 1 }
            histogram.sum += value
            histogram.count += 1
            state.histograms[key] = histogram
        }
    }

    /// The current value of a counter or gauge (0 when never touched).
    public func value(_ name: String, _ labels: Labels = []) -> Double {
        let key = Self.key(name, labels)
        return state.withLock { $0.values[key] ?? 0 }
    }

    /// Every metric in the Prometheus text exposition format.
    public func render() -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        for name in snapshot.families.keys.sorted() {
            guard let family = snapshot.families[name] else { continue }
            out += "# HELP \(name) \(family.help)\n# TYPE \(name) \(family.kind)\n"
            if family.kind == "histogram" {
                let bounds = snapshot.bounds[name] ?? []
                for (key, histogram) in snapshot.histograms.filter({ $0.key.name == name }).sorted(by: { $0.key < $1.key }) {
                    for (i, bound) in bounds.enumerated() {
                        out += "\(name)_bucket\(Self.labelText(key.labels + ["le=\"\(Self.number(bound))\""])) \(histogram.buckets[i])\n"
                    }
                    out += "\(name)_bucket\(Self.labelText(key.labels + ["le=\"+Inf\""])) \(histogram.count)\n"
                    out += "\(name)_sum\(Self.labelText(key.labels)) \(Self.number(histogram.sum))\n"
                    out += "\(name)_count\(Self.labelText(key.labels)) \(histogram.count)\n"
                }
            } else {
                for (key, value) in snapshot.values.filter({ $0.key.name == name }).sorted(by: { $0.key < $1.key }) {
                    out += "\(name)\(Self.labelText(key.labels)) \(Self.number(value))\n"
                }
            }
        }
        return out
    }

    private static func key(_ name: String, _ labels: Labels) -> Key {
        Key(name: name, labels: labels.map { "\($0.0)=\"\(escape($0.1))\"" })
    }

    private static func labelText(_ labels: [String]) -> String {
        labels.isEmpty ? "" : "{\(labels.joined(separator: ","))}"
    }

    /// Label values in quotes: backslash, quote and newline escaped. Runs for every request,
    /// so values without them (nearly all) are returned as they are.
    private static func escape(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else { return value }
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
