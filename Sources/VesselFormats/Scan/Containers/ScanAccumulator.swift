/// Collects the findings and imports of one file across its members and passes.
///
/// A second pass over the same stream (joblib's two readings) merges without duplicates.
struct ScanAccumulator {
    private(set) var findings: [ScanFinding] = []
    private(set) var imports: [ScanImport] = []

    mutating func add(_ finding: ScanFinding) {
        findings.append(finding)
    }

    mutating func add(_ problem: ScanProblem, member: String?) {
        add(problem.finding(member: member))
    }

    mutating func add(_ report: PickleReport) {
        // The first report's lists are taken as they are (no copy into new storage): most
        // files have one.
        if findings.isEmpty { findings = report.findings } else { findings += report.findings }
        if imports.isEmpty { imports = report.imports } else { imports += report.imports }
    }

    /// Adds what a second reading of an already-added stream found beyond the first.
    mutating func merge(_ report: PickleReport) {
        let seenFindings = Set(findings)
        let seenImports = Set(imports)
        findings += report.findings.filter { !seenFindings.contains($0) }
        imports += report.imports.filter { !seenImports.contains($0) }
    }

    var hasUnsafeFinding: Bool { findings.contains { $0.kind.isUnsafe } }

    func result(path: String, format: ScanFormat) -> ScanFileResult {
        ScanFileResult(path: path, format: format, findings: findings, imports: imports)
    }
}
