/// A registry policy over format families, e.g. `--formats safetensors,data`.
public struct ScanFormatPolicy: Sendable, Hashable {
    public var allowedFamilies: Set<ScanFormatFamily>

    public init(allowedFamilies: Set<ScanFormatFamily>) {
        self.allowedFamilies = allowedFamilies
    }

    /// What a registry accepts when no policy covers a model: safetensors and plain data.
    public static let registryDefault = ScanFormatPolicy(allowedFamilies: [.safetensors, .data])

    /// The family names, in declaration order, for messages and help: `safetensors, data, pickle`.
    public static var familyNames: String {
        ScanFormatFamily.allCases.map(\.rawValue).joined(separator: ", ")
    }

    /// A policy from family names as stored and sent (`PUT /policies`' `formats`), taken as
    /// they are (no trimming).
    /// - Returns: nil when a name is not a `ScanFormatFamily` or the list is empty.
    public init?(names: some Sequence<String>) {
        var families = Set<ScanFormatFamily>()
        for name in names {
            guard let family = ScanFormatFamily(rawValue: name) else { return nil }
            families.insert(family)
        }
        guard !families.isEmpty else { return nil }
        allowedFamilies = families
    }

    /// Parses a comma-separated family list such as `safetensors,data,pickle`; spaces around
    /// a name are ignored.
    /// - Returns: nil when a name is not a `ScanFormatFamily` or the list is empty.
    public init?(parsing list: String) {
        self.init(names: list.split(separator: ",").map(\.trimmingSpaces))
    }

    /// The allowed family names in declaration order, e.g. `["safetensors", "data"]`.
    public var names: [String] { ScanFormatFamily.allCases.filter(allowedFamilies.contains).map(\.rawValue) }

    /// Whether the policy admits a file of this format (independent of its verdict).
    public func allows(_ format: ScanFormat) -> Bool {
        allowedFamilies.contains(format.family)
    }
}

extension Substring {
    var trimmingSpaces: String { String(self).trimmingSpaces }
}
