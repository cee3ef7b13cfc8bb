import Foundation
import VesselCore
import VesselFormats

/// Checks every `.safetensors` file (header and layout, strictly) and every
/// `*.safetensors.index.json` against the shards it names; stores the summary of a valid set.
public struct SafetensorsValidator: VersionValidator {
    public var name: String { "safetensors" }
    public init() {}

    public func validate(_ input: ValidationInput, into report: inout ValidationReport) async throws {
        var headers: [(name: String, header: SafetensorsHeader)] = []
        var indexes: [(name: String, index: SafetensorsShardIndex)] = []
        var failed = false
        for entry in input.manifest.entries {
            if entry.path.hasSuffix(".safetensors") {
                let result = try await input.blobs.withLocalFile(entry.digest) { path in
                    Result { () throws(SafetensorsError) in try SafetensorsHeader.readFile(atPath: path) }
                }
                switch result {
                case .success(let header): headers.append((entry.path, header))
                case .failure(let error):
                    failed = true
                    report.findings.append(Finding(validator: name, code: error.code, message: error.message, path: entry.path))
                }
            } else if entry.path.hasSuffix(".safetensors.index.json") {
                let result = try await input.blobs.withLocalFile(entry.digest) { path in
                    Result { () throws(SafetensorsShardIndexError) in try SafetensorsShardIndex.readFile(atPath: path) }
                }
                switch result {
                case .success(let index): indexes.append((entry.path, index))
                case .failure(let error):
                    failed = true
                    report.findings.append(Finding(validator: name, code: error.code, message: error.message, path: entry.path))
                }
            }
        }
        guard !failed, !headers.isEmpty else { return }
        let inspection = SafetensorsInspector.inspect(headers: headers, indexes: indexes)
        if let error = inspection.error {
            report.findings.append(Finding(validator: name, code: error.code, message: error.message, path: error.path))
            return
        }
        report.analysis.summary = inspection.summary
    }
}
