/// The caps on what a client may send, in one place: every request type checks its fields
/// against these (``LimitedRequest``), and later features reuse them rather than inventing
/// their own. Text lengths are UTF-8 bytes, so a cap bounds memory and storage whatever the
/// script. A value over its cap is refused with `invalid_argument` naming the field and the
/// limit; nothing is stored.
///
/// Why caps at all: a description could be as large as a JSON body (64 MiB), and every list
/// answer, audit line and webhook payload repeated it (issue 21, item 8).
public enum Limits {
    /// A model's or version's description.
    public static let description = 16 << 10
    /// The reason given for an alias move, promotion or decision.
    public static let reason = 4 << 10
    /// One tag of a model.
    public static let tag = 256
    /// Tags on one model.
    public static let tagsPerModel = 64
    /// A check's name (`check:NAME` gates name it) and its status.
    public static let checkName = 128
    /// A metric's name (`metric:KEY>=VALUE` gates name it).
    public static let metricName = 128
    /// Metrics in one check report.
    public static let metricsPerCheck = 256
    /// A URL: a webhook's destination, a check report's link.
    public static let url = 2 << 10
    /// A short name chosen by a client: a token's or a trusted key's name, a webhook id.
    public static let name = 128
    /// A manifest entry's media type (RFC 6838 allows 127 bytes on each side of the `/`).
    public static let mediaType = 255
    /// Items on one page of a list (`?limit=`); docs/api.md, "Every list pages".
    public static let pageSize = 1000
    /// The largest size a client may declare for a file or blob: sizes are stored as signed
    /// 64-bit integers, so anything above `Int64.max` cannot be recorded faithfully.
    public static let size = UInt64(Int64.max)
    /// How deep a JSON request body may nest (no request type nests beyond a few levels).
    public static let requestNesting = 64

    /// Checks that `value` (when present) is at most `max` UTF-8 bytes.
    /// - Throws: `invalid_argument` naming `field` and the limit (never echoing the value).
    public static func check(_ value: String?, field: String, max: Int) throws(VesselError) {
        guard let value else { return }
        let length = value.utf8.count
        guard length <= max else {
            throw .invalidArgument("\(field) is \(length) bytes long; the limit is \(max) bytes\(Self.readable(max))")
        }
    }

    /// Checks every element of `values` against `max` bytes, and their number against `count`.
    /// - Throws: `invalid_argument` naming `field` and the limit that was exceeded.
    public static func check(_ values: [String]?, field: String, each max: Int, count: Int, element: String) throws(VesselError) {
        guard let values else { return }
        guard values.count <= count else {
            throw .invalidArgument("\(field) has \(values.count) entries; the limit is \(count)")
        }
        for value in values { try check(value, field: element, max: max) }
    }

    /// Checks a declared size against ``size``.
    /// - Throws: `invalid_argument` naming `field` and the limit.
    public static func checkSize(_ value: UInt64, field: String) throws(VesselError) {
        guard value <= size else {
            throw .invalidArgument("\(field) is \(value) bytes, more than the largest size Vessel stores (\(size) bytes, 2^63 − 1)")
        }
    }

    /// ` (16 KiB)` for `16384`, nothing for a number that is no whole number of KiB.
    static func readable(_ bytes: Int) -> String {
        bytes >= 1024 && bytes % 1024 == 0 ? " (\(bytes / 1024) KiB)" : ""
    }
}
