import Foundation
import VesselCore
import VesselFormats

/// Scans every file with the allowlist-based scanner and applies the format policy: by default
/// only safetensors and plain data are accepted; pickle-based formats need a policy that
/// allows them, and must still scan clean.
public struct ScanValidator: VersionValidator {
    public var name: String { "scan" }
    let scanner = ModelScanner(safetensorsChecker: ModelScanner.safetensorsRules)

    public init() {}

    public func validate(_ input: ValidationInput, into report: inout ValidationReport) async throws {
        // A stored policy holds family names `PUT /policies` checked; with none, the default.
        let policy = input.formatPolicy.map { ScanFormatPolicy(allowedFamilies: Set($0.compactMap(ScanFormatFamily.init(rawValue:)))) }
            ?? .registryDefault
        var reports: [FileScanReport] = []
        for (entry, result) in zip(input.manifest.entries, try await scanAll(input)) {
            reports.append(FileScanReport(result))
            switch result.verdict {
            case .unsafe:
                report.findings.append(Finding(validator: name, code: "unsafe", message: Self.describe(result), path: entry.path))
            case .invalid where result.format != .safetensors:
                // Invalid safetensors files are reported by the safetensors validator.
                report.findings.append(Finding(validator: name, code: "invalid", message: Self.describe(result), path: entry.path))
            default:
                break
            }
            if !policy.allows(result.format) {
                report.findings.append(Finding(
                    validator: name, code: "format_not_allowed",
                    message: "\(result.format.rawValue) files (\(result.format.family.rawValue)) are not accepted here; accepted: \(policy.allowedFamilies.map(\.rawValue).sorted().joined(separator: ", ")) (`vessel policy set` changes this)",
                    path: entry.path
                ))
            }
        }
        report.analysis.scan = reports
    }

    /// Every file's result, in manifest order. Up to `ModelScanner.defaultJobs` files are
    /// scanned (and, from object storage, fetched) at once: a checkpoint of many pickle shards
    /// is judged in a fraction of the time one after the other would take.
    private func scanAll(_ input: ValidationInput) async throws -> [ScanFileResult] {
        let entries = input.manifest.entries, scanner = scanner, blobs = input.blobs
        return try await concurrentMap(count: entries.count, width: ModelScanner.defaultJobs) { index in
            try await blobs.withLocalFile(entries[index].digest) { scanner.scanFile(at: $0, as: entries[index].path) }
        }
    }

    static func describe(_ result: ScanFileResult) -> String {
        let top = result.findings.sorted { $0.severity > $1.severity }.prefix(3)
        let details = top.map { "\($0.severity.rawValue) \($0.kind.rawValue): \($0.detail)" }.joined(separator: "; ")
        return "\(result.verdict.rawValue) \(result.format.rawValue) file: \(details)"
    }
}
