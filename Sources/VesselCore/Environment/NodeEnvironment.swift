import Foundation

/// What a node's agent reports about the environment it serves with (`vessel agent --freeze FILE`
/// or `--python PATH`, and `--image REF@sha256:…`), sent with its node report:
/// `{"freeze","image","python_version","platform"}`. `freeze` is `pip freeze` output;
/// `python_version` (X.Y.Z) and `platform` (linux, darwin, win32) are what markers are evaluated
/// for (docs/lineage.md, "Where it bites").
public struct NodeEnvironment: Codable, Sendable, Equatable {
    /// The largest freeze a report may carry.
    public static let maxFreezeBytes = 1 << 20

    public var freeze: String?
    public var image: String?
    public var pythonVersion: String?
    public var platform: String?

    public init(freeze: String? = nil, image: String? = nil, pythonVersion: String? = nil, platform: String? = nil) {
        self.freeze = freeze
        self.image = image
        self.pythonVersion = pythonVersion
        self.platform = platform
    }

    enum CodingKeys: String, CodingKey {
        case freeze, image, platform
        case pythonVersion = "python_version"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(freeze, forKey: .freeze)
        try container.encode(image, forKey: .image)
        try container.encode(pythonVersion, forKey: .pythonVersion)
        try container.encode(platform, forKey: .platform)
    }

    /// - Throws: `invalid_argument` naming the first thing wrong (an unreadable freeze line, an
    ///   image without a digest, an unknown platform or Python version).
    public func validate() throws(VesselError) {
        if let freeze {
            guard freeze.utf8.count <= Self.maxFreezeBytes else { throw .invalidArgument("environment.freeze is larger than 1 MiB") }
            do throws(RequirementsFileError) { _ = try InstalledPackages(freeze: freeze, fileName: "environment.freeze") } catch {
                throw .invalidArgument(error.description)
            }
        }
        if let image { _ = try ImageReference.validate(image) }
        _ = try markerEnvironment()
    }

    /// The marker environment of this node (Python `MarkerEnvironment.defaultPythonVersion` on
    /// linux when not reported).
    public func markerEnvironment() throws(VesselError) -> MarkerEnvironment {
        guard let platform = MarkerEnvironment.Platform(rawValue: self.platform ?? "linux") else {
            throw .invalidArgument("environment.platform must be linux, darwin or win32, not '\((self.platform ?? "").prefix(64))'")
        }
        do throws(MarkerError) {
            return try MarkerEnvironment(pythonVersion: pythonVersion ?? MarkerEnvironment.defaultPythonVersion, platform: platform)
        } catch {
            throw .invalidArgument("environment.python_version: \(error.reason)")
        }
    }

    /// Why a version whose environment is `requirementsText` (named `requirementsName`) and
    /// `image` cannot be served here: one line per failing requirement (missing, wrong version),
    /// plus the image when both name one and their digests differ. Empty: compatible. Unchecked
    /// entries (`-r`, `name @ url`, options) do not fail, as `vessel env check` without
    /// `--strict`; a requirement is judged only when the node reported a freeze.
    public func failures(requirementsText: String?, requirementsName: String, image versionImage: String?) -> [String] {
        var failures: [String] = []
        if let versionImage, let image, Self.imageDigest(versionImage) != Self.imageDigest(image) {
            failures.append("image: the version needs \(versionImage), the node runs \(image)")
        }
        guard let freeze, let requirementsText else { return failures }
        do {
            let file = try RequirementsFile(text: requirementsText, fileName: requirementsName)
            let installed = try InstalledPackages(freeze: freeze, fileName: "the node's freeze")
            let report = try EnvironmentCheck.check(file, against: installed, in: try markerEnvironment())
            for finding in report.findings where finding.verdict == .missing || finding.verdict == .wrongVersion {
                let requirement = finding.name.map { $0 + (finding.required ?? "") } ?? finding.text
                failures.append("\(requirement): \(finding.verdict.rawValue.replacingOccurrences(of: "_", with: " ")) (\(finding.reason))")
            }
        } catch {
            failures.append("\(requirementsName): cannot be judged: \(error)")
        }
        return failures
    }

    /// The `sha256:…` part of `REF@sha256:…`.
    static func imageDigest(_ reference: String) -> Substring {
        guard let at = reference.lastIndex(of: "@") else { return Substring(reference) }
        return reference[reference.index(after: at)...]
    }
}
