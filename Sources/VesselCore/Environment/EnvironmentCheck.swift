/// Whether an installed environment (`pip freeze`) satisfies a requirements file, judged as
/// `pip check` judges it: a requirement whose marker is false in the target environment is
/// skipped; otherwise its package must be installed at a version its specifiers admit
/// (pre-releases count). Entries pip would install without a version to judge (`-r`, `-e`,
/// `name @ url`, options) are `unchecked`; with `strict` they make the result incompatible.
public enum EnvironmentCheck {
    public enum Verdict: String, Sendable, Hashable, Codable {
        case satisfied, missing, unchecked, skipped
        case wrongVersion = "wrong_version"
    }

    /// One entry of the requirements file and what the check found.
    public struct Finding: Sendable, Hashable, Codable {
        public var line: Int
        public var text: String
        public var kind: RequirementsFile.Entry.Kind
        /// The requirement's name as written (nil for pip options and references).
        public var name: String?
        /// Its specifiers, e.g. `>=4.35,<5` (empty when none).
        public var required: String?
        public var marker: String?
        public var verdict: Verdict
        /// The installed version, when the freeze lists the package with one.
        public var installed: String?
        /// Why, in a sentence.
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case line, text, kind, name, required, marker, verdict, installed, reason
        }
    }

    public struct Report: Sendable, Hashable, Codable {
        public var compatible: Bool
        public var strict: Bool
        public var requirements: String
        public var freeze: String
        public var pythonVersion: String
        public var pythonFullVersion: String
        public var platform: String
        public var findings: [Finding]
        /// Verdict → how many entries have it (every verdict present, zero included).
        public var counts: [String: Int]

        enum CodingKeys: String, CodingKey {
            case compatible, strict, requirements, freeze, platform, findings, counts
            case pythonVersion = "python_version"
            case pythonFullVersion = "python_full_version"
        }
    }

    /// - Throws: `RequirementsFileError` naming the line whose marker cannot be evaluated.
    public static func check(_ file: RequirementsFile, against installed: InstalledPackages, in environment: MarkerEnvironment, strict: Bool = false) throws(RequirementsFileError) -> Report {
        var findings: [Finding] = []
        findings.reserveCapacity(file.entries.count)
        for entry in file.entries {
            do throws(MarkerError) {
                findings.append(try judge(entry, installed, environment))
            } catch {
                throw RequirementsFileError(fileName: file.fileName, line: entry.line, reason: error.description)
            }
        }
        var counts: [String: Int] = [:]
        for verdict in [Verdict.satisfied, .missing, .wrongVersion, .unchecked, .skipped] {
            counts[verdict.rawValue] = findings.count { $0.verdict == verdict }
        }
        let failing = findings.contains { $0.verdict == .missing || $0.verdict == .wrongVersion || (strict && $0.verdict == .unchecked) }
        return Report(
            compatible: !failing, strict: strict, requirements: file.fileName, freeze: installed.fileName,
            pythonVersion: environment.pythonVersion, pythonFullVersion: environment.pythonFullVersion,
            platform: environment.platform.rawValue, findings: findings, counts: counts
        )
    }

    static func judge(_ entry: RequirementsFile.Entry, _ installed: InstalledPackages, _ environment: MarkerEnvironment) throws(MarkerError) -> Finding {
        var finding = Finding(line: entry.line, text: entry.text, kind: entry.kind, name: nil, required: nil, marker: nil, verdict: .unchecked, installed: nil, reason: "")
        guard let requirement = entry.requirement else {
            finding.reason = entry.kind == .reference ? "a pip reference; what it names is not checked" : "a pip option; not a package to check"
            return finding
        }
        finding.name = requirement.name
        finding.required = requirement.specifiers.description
        finding.marker = requirement.marker?.description
        if let marker = requirement.marker, !(try marker.evaluate(in: environment)) {
            finding.verdict = .skipped
            finding.reason = "its marker is false for Python \(environment.pythonFullVersion) on \(environment.platform.rawValue)"
            return finding
        }
        guard let package = installed.package(named: requirement.name) else {
            finding.verdict = .missing
            finding.reason = "\(requirement.name) is not installed"
            return finding
        }
        finding.installed = package.version
        if let url = requirement.url {
            finding.reason = "a direct reference (\(url)); the installed \(package.name) is not compared with it"
            return finding
        }
        if requirement.specifiers.isEmpty {
            finding.verdict = .satisfied
            finding.reason = "\(package.name) is installed" + (package.version.map { " (\($0))" } ?? "")
            return finding
        }
        guard let version = package.version else {
            finding.reason = "\(package.name) is installed from a URL or in editable mode, without a version to compare with \(requirement.specifiers)"
            return finding
        }
        // pip check compares the parsed version (`===` then sees its normal form).
        let admitted = PythonVersion.parse(version).map(requirement.specifiers.contains) ?? requirement.specifiers.contains(version)
        if admitted {
            finding.verdict = .satisfied
            finding.reason = "\(package.name) \(version) satisfies \(requirement.specifiers)"
        } else {
            finding.verdict = .wrongVersion
            finding.reason = "requires \(requirement.name)\(requirement.specifiers), installed \(package.name) \(version)"
        }
        return finding
    }
}
