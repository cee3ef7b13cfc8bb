/// Renders scan results as human-readable text (one line per file, findings indented, and a
/// closing summary line).
public struct ScanTextRenderer: Sendable {
    /// Also list allowed imports under each file.
    public var showImports: Bool

    public init(showImports: Bool = false) {
        self.showImports = showImports
    }

    public func render(_ results: [ScanFileResult]) -> String {
        var lines: [String] = []
        for result in results {
            lines.append("\(pad(result.verdict.rawValue, 8)) \(pad(result.format.rawValue, 15)) \(result.path)")
            for finding in result.findings {
                var location = ""
                if let member = finding.member { location += " [\(member)]" }
                if let offset = finding.offset { location += " @\(offset)" }
                lines.append("    \(finding.severity.rawValue) \(finding.kind.rawValue)\(location): \(finding.detail)")
            }
            if showImports {
                for item in result.imports where item.allowed {
                    lines.append("    import \(item.module).\(item.name) (\(item.opcode) @\(item.offset))")
                }
            }
        }
        let counts = Dictionary(grouping: results, by: \.verdict).mapValues(\.count)
        lines.append("\(results.count) file\(results.count == 1 ? "" : "s"): \(counts[.safe] ?? 0) safe, \(counts[.unsafe] ?? 0) unsafe, \(counts[.invalid] ?? 0) invalid")
        return lines.joined(separator: "\n") + "\n"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
