/// Comma-separated PEP 440 clauses, all of which a version must satisfy (`>=1.0, !=1.3.*, <2`).
/// An empty set admits every version. Pre-releases are always admitted, as `pip check` judges
/// an installed version (`packaging`'s `SpecifierSet(text, prereleases=True)`).
public struct SpecifierSet: Sendable, Hashable, CustomStringConvertible {
    public let clauses: [VersionSpecifier]

    public init(_ clauses: [VersionSpecifier]) {
        self.clauses = clauses
    }

    /// Parses `text`; empty parts between commas are ignored, as `packaging` does.
    /// - Throws: `SpecifierError` naming the first clause that is not a specifier.
    public init(_ text: String) throws(SpecifierError) {
        var clauses: [VersionSpecifier] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let clause = String(part).trimmingSpaces
            if clause.isEmpty { continue }
            clauses.append(try VersionSpecifier(clause))
        }
        self.clauses = clauses
    }

    public var isEmpty: Bool { clauses.isEmpty }

    /// The clauses joined by commas, as written (operator and version without spaces).
    public var description: String { clauses.map(\.description).joined(separator: ",") }

    /// Whether `candidate` (a version string, as written) satisfies every clause.
    public func contains(_ candidate: String) -> Bool {
        if clauses.isEmpty { return true }
        if let parsed = PythonVersion.parse(candidate), !clauses.contains(where: { $0.op == .arbitrary }) {
            return contains(parsed)
        }
        return clauses.allSatisfy { $0.contains(candidate) }
    }

    /// Whether `candidate` satisfies every clause (`===` compares its normal form).
    public func contains(_ candidate: PythonVersion) -> Bool {
        clauses.allSatisfy { $0.contains(candidate) }
    }
}
