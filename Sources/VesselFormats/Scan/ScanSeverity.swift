/// How serious a finding is. Stable JSON strings; see `docs/scanning.md`.
public enum ScanSeverity: String, Codable, Sendable, Comparable, CaseIterable {
    /// Informational; never changes a verdict on its own.
    case low
    /// A structural problem that makes the file `invalid` (malformed, truncated, unsupported).
    case medium
    /// An import or construct outside the allowlist with no known exploit primitive.
    case high
    /// A code-execution primitive or an evasion technique (computed import names, aliases).
    case critical

    public static func < (lhs: ScanSeverity, rhs: ScanSeverity) -> Bool {
        lhs.rank < rhs.rank
    }

    private var rank: Int {
        switch self {
        case .low: return 0
        case .medium: return 1
        case .high: return 2
        case .critical: return 3
        }
    }
}
