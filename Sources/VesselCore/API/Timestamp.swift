import Foundation

/// Instants as stored (microseconds since the Unix epoch) and as shown (RFC 3339 UTC).
public enum Timestamp {
    public static func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }

    public static func date(micros: Int64) -> Date { Date(timeIntervalSince1970: Double(micros) / 1_000_000) }

    /// `2026-11-29T08:05:51.123Z`
    public static func rfc3339(micros: Int64) -> String {
        var seconds = time_t(micros / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int((micros % 1_000_000) / 1000)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    public static func rfc3339(_ date: Date) -> String { rfc3339(micros: micros(date)) }

    /// Parses RFC 3339 (`Z` or a numeric offset, optional fraction).
    public static func parse(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFraction.date(from: text) { return date }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        return plain.date(from: text)
    }

    /// Parses a duration such as `30d`, `12h`, `90m`, `45s` into seconds.
    public static func parseDuration(_ text: String) throws(VesselError) -> Int64 {
        guard let unit = text.last, let value = Int64(text.dropLast()), value > 0 else {
            throw .invalidArgument("duration '\(text)' must look like 30d, 12h, 90m or 45s")
        }
        let scale: Int64
        switch unit {
        case "d": scale = 86_400
        case "h": scale = 3_600
        case "m": scale = 60
        case "s": scale = 1
        default: throw .invalidArgument("duration '\(text)' must end in d, h, m or s")
        }
        let (seconds, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow, seconds <= 100 * 365 * 86_400 else { throw .invalidArgument("duration '\(text)' is too long") }
        return seconds
    }

    /// A duration as messages show it: `2.1s` below ten seconds, `42s` below a minute, `1m40s`
    /// (`2m` when whole) below an hour, `1h5m` above.
    public static func formatDuration(_ duration: Duration) -> String {
        let millis = max(0, duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        if millis < 10_000 {
            let tenths = (millis + 50) / 100
            return "\(tenths / 10).\(tenths % 10)s"
        }
        let seconds = (millis + 500) / 1000
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 {
            let minutes = seconds / 60, rest = seconds % 60
            return rest == 0 ? "\(minutes)m" : "\(minutes)m\(rest)s"
        }
        let hours = seconds / 3600, minutes = (seconds % 3600) / 60
        return minutes == 0 ? "\(hours)h" : "\(hours)h\(minutes)m"
    }
}
