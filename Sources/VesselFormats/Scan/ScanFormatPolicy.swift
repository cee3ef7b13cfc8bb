/// A registry policy over format families, e.g. `--formats safetensors,data`.
public struct ScanFormatPolicy: Sendable, Hashable {
    public var allowedFamilies: Set<ScanFormatFamily>

    public init(allowedFamilies: Set<ScanFormatFamily>) {
        self.allowedFamilies = allowedFamilies
    }

    /// Parses a comma-separated family list such as `safetensors,data,pickle`.
    /// - Returns: nil when a name is not a `ScanFormatFamily` or the list is empty.
    public init?(parsing list: String) {
        var families = Set<ScanFormatFamily>()
        for part in list.split(separator: ",") {
            let name = part.trimmingSpaces
            guard let family = ScanFormatFamily(rawValue: name) else { return nil }
            families.insert(family)
        }
        guard !families.isEmpty else { return nil }
        allowedFamilies = families
    }

    /// Whether the policy admits a file of this format (independent of its verdict).
    public func allows(_ format: ScanFormat) -> Bool {
        allowedFamilies.contains(format.family)
    }

    /// The results whose format the policy refuses.
    public func violations(in results: [ScanFileResult]) -> [ScanFileResult] {
        results.filter { !allows($0.format) }
    }
}

extension Substring {
    var trimmingSpaces: String { String(self).trimmingSpaces }
}
