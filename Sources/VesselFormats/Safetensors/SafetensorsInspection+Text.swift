import Foundation

extension SafetensorsInspection {
    /// Encodes the report as the `--json` output: snake_case keys, numbers as numbers,
    /// sorted keys for stable output.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// A plain-text rendering for people.
    public func renderText() -> String {
        guard let summary else {
            let where_ = error?.path.map { "\($0): " } ?? ""
            return "invalid: \(where_)\(error?.message ?? "unknown error") [\(error?.code ?? "unknown")]\n"
        }
        var lines: [String] = []
        for file in files {
            lines.append("\(file.path): \(file.tensors.count) tensors")
            for tensor in file.tensors {
                let shape = "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]"
                lines.append("  \(tensor.name)  \(tensor.dtype)  \(shape)  \(tensor.bytes) bytes")
            }
            if let metadata = file.metadata, !metadata.isEmpty {
                for key in metadata.keys.sorted() { lines.append("  metadata \(key) = \(metadata[key] ?? "")") }
            }
        }
        if let shards { lines.append("index \(shards.index): \(shards.consistent ? "consistent" : "inconsistent")") }
        lines.append(
            "total: \(summary.parameters) parameters in \(summary.tensorCount) tensors, "
                + "\(summary.tensorBytes) bytes, \(summary.shardCount) file(s)"
        )
        for dtype in summary.dtypes.keys.sorted() {
            if let totals = summary.dtypes[dtype] {
                lines.append("  \(dtype): \(totals.parameters) parameters, \(totals.bytes) bytes")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
