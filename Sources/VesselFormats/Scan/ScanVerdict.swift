/// The outcome of scanning one file.
public enum ScanVerdict: String, Codable, Sendable, Comparable {
    /// Nothing but allowlisted imports and well-formed structure was found.
    case safe
    /// At least one finding of the unsafe class (a disallowed import, a code layer, a traversal
    /// member, a decompression bomb …). Takes precedence over `invalid`.
    case unsafe
    /// The file claims a scanned format but is empty, truncated, corrupt, unsupported or
    /// unreadable, so nothing can be said about it. Never treated as safe.
    case invalid

    /// Orders verdicts by how bad they are: `safe` < `invalid` < `unsafe`.
    public static func < (lhs: ScanVerdict, rhs: ScanVerdict) -> Bool {
        lhs.rank < rhs.rank
    }

    private var rank: Int {
        switch self {
        case .safe: return 0
        case .invalid: return 1
        case .unsafe: return 2
        }
    }
}
