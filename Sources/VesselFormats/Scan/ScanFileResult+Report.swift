import VesselCore

extension FileScanReport {
    /// The stored and served form of a scan result: its verdict and findings, without the
    /// import list (which `vessel scan --imports` prints locally).
    public init(_ result: ScanFileResult) {
        self.init(path: result.path, format: result.format.rawValue, verdict: result.verdict.rawValue, findings: result.findings.map {
            Finding(severity: $0.severity.rawValue, kind: $0.kind.rawValue, detail: $0.detail, offset: $0.offset.map(UInt64.init), member: $0.member)
        })
    }
}
