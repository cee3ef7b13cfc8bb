import Foundation

/// What `pip freeze` says is installed: `name==version` (or `name===version`) lines,
/// `name @ url` for direct references and `-e …#egg=name` for editable installs (installed,
/// version unknown), comments and blank lines. Names are compared as PEP 503 says.
public struct InstalledPackages: Sendable {
    public struct Package: Sendable, Hashable {
        public let name: String
        /// The version as written; nil for a direct reference or editable install.
        public let version: String?
        public let line: Int
    }

    public let fileName: String
    /// Keyed by `PackageName.normalize(name)`; a name listed twice keeps its last line.
    public let packages: [String: Package]

    /// - Throws: `RequirementsFileError` for a line that is none of the above.
    public init(freeze text: String, fileName: String) throws(RequirementsFileError) {
        self.fileName = fileName
        var packages: [String: Package] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") { continue }
            let number = index + 1
            guard let package = Self.package(line, number: number) else {
                throw RequirementsFileError(fileName: fileName, line: number, reason: "'\(line)' is not a pip freeze line (name==version, name @ url or -e …#egg=name)")
            }
            if let package { packages[PackageName.normalize(package.name)] = package }
        }
        self.packages = packages
    }

    public init(fileName: String, packages: [Package]) {
        self.fileName = fileName
        self.packages = Dictionary(packages.map { (PackageName.normalize($0.name), $0) }, uniquingKeysWith: { $1 })
    }

    public func package(named name: String) -> Package? { packages[PackageName.normalize(name)] }

    /// nil: not a freeze line; `.some(nil)`: a line naming nothing (an editable without `#egg=`).
    private static func package(_ line: String, number: Int) -> Package?? {
        if line.hasPrefix("-e ") || line.hasPrefix("--editable ") || line.hasPrefix("--editable=") {
            guard let egg = line.range(of: "#egg=") else { return .some(nil) }
            let name = line[egg.upperBound...].prefix { $0 != "&" && $0 != " " }
            guard !name.isEmpty, (try? Requirement(String(name))) != nil else { return nil }
            return Package(name: String(name), version: nil, line: number)
        }
        if let eq = line.range(of: "==") {
            let name = String(line[..<eq.lowerBound]).trimmingSpaces
            var version = String(line[eq.upperBound...])
            if version.hasPrefix("=") { version.removeFirst() }
            version = version.trimmingSpaces
            guard !version.isEmpty, !version.contains(" "), let requirement = try? Requirement(name),
                  requirement.extras.isEmpty, requirement.specifiers.isEmpty, requirement.url == nil, requirement.marker == nil else { return nil }
            return Package(name: requirement.name, version: version, line: number)
        }
        guard let requirement = try? Requirement(line), requirement.url != nil else { return nil }
        return Package(name: requirement.name, version: nil, line: number)
    }
}
