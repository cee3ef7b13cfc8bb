import VesselCore

/// Totals over one file or a sharded checkpoint: the `ModelSummary` a version stores.
public typealias SafetensorsSummary = ModelSummary

extension ModelSummary {
    /// Summarizes the headers of one file or of all shards of a checkpoint. Sums saturate
    /// at `UInt64.max` instead of overflowing.
    public init(headers: [SafetensorsHeader]) {
        var parameters: UInt64 = 0
        var tensorBytes: UInt64 = 0
        var tensorCount = 0
        var dtypes: [String: DTypeTotals] = [:]
        var metadata: [String: String]? = nil
        for header in headers {
            for tensor in header.tensors {
                parameters = Self.add(parameters, tensor.elementCount)
                tensorBytes = Self.add(tensorBytes, tensor.byteCount)
                tensorCount += 1
                var totals = dtypes[tensor.dtype.rawValue] ?? DTypeTotals(parameters: 0, bytes: 0)
                totals.parameters = Self.add(totals.parameters, tensor.elementCount)
                totals.bytes = Self.add(totals.bytes, tensor.byteCount)
                dtypes[tensor.dtype.rawValue] = totals
            }
            if let fileMetadata = header.metadata {
                var merged = metadata ?? [:]
                for (key, value) in fileMetadata where merged[key] == nil { merged[key] = value }
                metadata = merged
            }
        }
        self.init(
            parameters: parameters, tensorCount: tensorCount, dtypes: dtypes,
            tensorBytes: tensorBytes, shardCount: headers.count, metadata: metadata
        )
    }

    private static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? UInt64.max : sum
    }
}
