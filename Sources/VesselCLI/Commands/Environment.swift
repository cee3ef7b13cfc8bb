import ArgumentParser
import Foundation
import VesselCore

struct EnvCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Python environments: whether an installed environment satisfies a model's requirements.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Judge a pip freeze against a requirements file, as pip check would (docs/environment.md).",
            discussion: """
                Prints each requirement's verdict (satisfied, missing, wrong version, unchecked, skipped by its marker) \
                and 'compatible' or 'incompatible'. Exit 0 compatible, 1 incompatible (with --strict, unchecked entries \
                such as -r, -e, name @ url and pip options count as incompatible), 2 when a file has a line that \
                cannot be read (named as file:line), 3 when a file does not exist.
                """
        )
        @Argument(help: "A requirements file, a folder holding requirements.txt, or a version (owner/name:N, owner/name@alias) whose stored requirements are judged.") var reference: String
        @Option(help: "The environment's packages, in `pip freeze` format.") var freeze: String
        @Option(name: .customLong("python-version"), help: "Python version markers are evaluated for: X.Y or X.Y.Z (default \(MarkerEnvironment.defaultPythonVersion)).")
        var pythonVersion: String = MarkerEnvironment.defaultPythonVersion
        @Option(help: "Platform markers are evaluated for: linux, darwin or win32 (default linux).") var platform: String = "linux"
        @Flag(help: "Count unchecked entries as incompatible.") var strict = false
        @OptionGroup var client: ClientOptions
        var json: Bool { client.json }

        func validate() throws {
            guard MarkerEnvironment.Platform(rawValue: platform) != nil else {
                throw ValidationError("--platform must be linux, darwin or win32, not '\(platform)'")
            }
            do { _ = try MarkerEnvironment(pythonVersion: pythonVersion) } catch { throw ValidationError("--python-version: \(error.reason)") }
        }

        func run() async throws {
            var report: EnvironmentCheck.Report?
            try await Output.run(json: json) {
                let environment = try MarkerEnvironment(pythonVersion: pythonVersion, platform: MarkerEnvironment.Platform(rawValue: platform) ?? .linux)
                let requirements = try await RequirementsSource.requirements(for: reference, client: client)
                let installed = try Self.readFile(freeze) { (text: String, name: String) throws(RequirementsFileError) in try InstalledPackages(freeze: text, fileName: name) }
                do throws(RequirementsFileError) {
                    report = try EnvironmentCheck.check(requirements, against: installed, in: environment, strict: strict)
                } catch {
                    throw VesselError.invalidArgument(error.description)
                }
            }
            guard let report else { return }
            if json { Output.json(report) } else { Self.render(report) }
            if !report.compatible { throw ExitCode(1) }
        }

        /// Reads a local file and parses it; a missing file is `not_found`, a bad line `invalid_argument`.
        static func readFile<T>(_ path: String, _ parse: (String, String) throws(RequirementsFileError) -> T) throws -> T {
            guard FileManager.default.fileExists(atPath: path) else { throw VesselError.notFound("'\(path)' does not exist") }
            guard let data = FileManager.default.contents(atPath: path) else { throw VesselError.invalidArgument("'\(path)' cannot be read") }
            guard let text = String(data: data, encoding: .utf8) else { throw VesselError.invalidArgument("'\(path)' is not UTF-8 text") }
            do throws(RequirementsFileError) {
                return try parse(text, path)
            } catch {
                throw VesselError.invalidArgument(error.description)
            }
        }

        static func render(_ report: EnvironmentCheck.Report) {
            Output.line("\(report.requirements) against \(report.freeze) (Python \(report.pythonFullVersion), \(report.platform))")
            let rows = report.findings.map { finding -> [String] in
                let what = finding.name.map { $0 + (finding.required ?? "") } ?? finding.text
                return [String(finding.line), finding.verdict.rawValue.replacingOccurrences(of: "_", with: " "), what, finding.reason]
            }
            Output.table(["LINE", "VERDICT", "REQUIREMENT", "DETAIL"], rows)
            let order: [EnvironmentCheck.Verdict] = [.wrongVersion, .missing, .unchecked, .skipped, .satisfied]
            let summary = order.compactMap { verdict -> String? in
                let count = report.counts[verdict.rawValue] ?? 0
                return count == 0 ? nil : "\(count) \(verdict.rawValue.replacingOccurrences(of: "_", with: " "))"
            }
            Output.line((report.compatible ? "compatible" : "incompatible") + (summary.isEmpty ? "" : ": " + summary.joined(separator: ", ")) + (report.strict ? " (strict)" : ""))
        }
    }
}

/// Where `vessel env check` reads the requirements it judges: a local file, a folder's
/// `requirements.txt`, or a registry reference (`owner/name:version`, `owner/name@alias`): the
/// version's stored requirements, its own or its run's (docs/lineage.md). Nothing else in the
/// command reads requirements.
enum RequirementsSource {
    static func requirements(for reference: String, client: ClientOptions) async throws -> RequirementsFile {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: reference, isDirectory: &isDirectory) else {
            guard let ref = try? Reference(reference) else {
                throw VesselError.notFound("'\(reference)' is neither a local requirements file or folder nor a version reference (owner/name:N)")
            }
            let (version, lineage) = try await client.withClient { api in
                let version = try await api.resolve(ref)
                return (version, try await api.versionLineage(version.model, version: version.version))
            }
            guard let text = lineage.environment.requirementsText else {
                throw VesselError.notFound("\(version.model):\(version.version) has no stored requirements (push it with a requirements.txt, --requirements or a --run that has them)")
            }
            let name = "\(version.model):\(version.version) \(lineage.environment.requirementsFile.map { ($0 as NSString).lastPathComponent } ?? "requirements.txt")"
            do throws(RequirementsFileError) {
                return try RequirementsFile(text: text, fileName: name)
            } catch {
                throw VesselError.invalidArgument(error.description)
            }
        }
        let path = isDirectory.boolValue ? (reference as NSString).appendingPathComponent("requirements.txt") : reference
        return try EnvCommand.Check.readFile(path) { (text: String, name: String) throws(RequirementsFileError) in try RequirementsFile(text: text, fileName: name) }
    }
}
