/// The scan result for one file.
///
/// JSON (snake_case): `{"path", "format", "verdict", "findings": [...], "imports": [...]}`.
public struct ScanFileResult: Codable, Sendable, Hashable {
    /// The path as given (or joined below a scanned folder).
    public var path: String
    public var format: ScanFormat
    public var verdict: ScanVerdict
    public var findings: [ScanFinding]
    /// Every import the file's pickles perform, allowed or not, in stream order.
    public var imports: [ScanImport]

    public init(path: String, format: ScanFormat, findings: [ScanFinding], imports: [ScanImport] = []) {
        self.path = path
        self.format = format
        self.findings = findings
        self.imports = imports
        self.verdict = ScanFileResult.verdict(for: findings)
    }

    /// `unsafe` if any finding is of the unsafe class, else `invalid` if any is of the invalid
    /// class, else `safe`. `low` findings never change the verdict.
    public static func verdict(for findings: [ScanFinding]) -> ScanVerdict {
        var verdict = ScanVerdict.safe
        for finding in findings where finding.severity > .low {
            let candidate: ScanVerdict = finding.kind.isUnsafe ? .unsafe : .invalid
            verdict = max(verdict, candidate)
        }
        return verdict
    }
}
