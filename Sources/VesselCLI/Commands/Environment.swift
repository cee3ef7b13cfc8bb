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
        @Argument(help: "A requirements file, or a folder holding requirements.txt.") var reference: String
        @Option(help: "The environment's packages, in `pip freeze` format.") var freeze: String
        @Option(name: .customLong("python-version"), help: "Python version markers are evaluated for: X.Y or X.Y.Z (default \(MarkerEnvironment.defaultPythonVersion)).")
        var pythonVersion: String = MarkerEnvironment.defaultPythonVersion
        @Option(help: "Platform markers are evaluated for: linux, darwin or win32 (default linux).") var platform: String = "linux"
        @Flag(help: "Count unchecked entries as incompatible.") var strict = false
        @Flag(help: "Print the report as JSON.") var json = false

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
                let requirements = try await RequirementsSource.requirements(for: reference)
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

/// Where `vessel env check` reads the requirements it judges. Today: a local file, or a
/// folder's `requirements.txt`. The lineage work extends this one function to a registry
/// reference (`owner/name:version`, a version's stored requirements); nothing else in the
/// command reads requirements.
enum RequirementsSource {
    static func requirements(for reference: String) async throws -> RequirementsFile {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: reference, isDirectory: &isDirectory) else {
            throw VesselError.notFound("'\(reference)' is not a local requirements file or folder (a version's stored requirements are not readable yet)")
        }
        let path = isDirectory.boolValue ? (reference as NSString).appendingPathComponent("requirements.txt") : reference
        return try EnvCommand.Check.readFile(path) { (text: String, name: String) throws(RequirementsFileError) in try RequirementsFile(text: text, fileName: name) }
    }
}
