/// An internal error that ends the scan of one stream or member; becomes a `ScanFinding`.
struct ScanProblem: Error, Sendable {
    var kind: ScanFindingKind
    var detail: String
    var offset: Int?

    static func malformed(_ detail: String, at offset: Int? = nil) -> ScanProblem {
        ScanProblem(kind: .malformed, detail: detail, offset: offset)
    }

    static func truncated(_ detail: String, at offset: Int? = nil) -> ScanProblem {
        ScanProblem(kind: .truncated, detail: detail, offset: offset)
    }

    static func limit(_ detail: String, at offset: Int? = nil) -> ScanProblem {
        ScanProblem(kind: .limitExceeded, detail: detail, offset: offset)
    }

    static func bomb(_ detail: String, at offset: Int? = nil) -> ScanProblem {
        ScanProblem(kind: .decompressionBomb, detail: detail, offset: offset)
    }

    func finding(member: String?) -> ScanFinding {
        let severity: ScanSeverity = kind.isUnsafe ? .high : .medium
        return ScanFinding(severity: severity, kind: kind, detail: detail, offset: offset, member: member)
    }
}
