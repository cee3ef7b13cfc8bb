import ArgumentParser
import Foundation
import VesselCore
import VesselFormats

struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan model files for code that would run on load (allowlist-based, fail-closed).",
        discussion: "Exit 0 when every file is safe, 1 when any is unsafe, 2 when any is invalid and none unsafe. docs/scanning.md lists formats, severities and kinds."
    )
    @Argument(help: "Files or folders.") var paths: [String]
    @Flag(help: "Print JSON: one file's object for a single file argument, else {\"files\": [...]}.") var json = false
    @Flag(help: "List every import found, allowed or not.") var imports = false
    @Option(help: "Files scanned at once (default: one per processor).") var jobs = ModelScanner.defaultJobs

    func validate() throws {
        guard jobs > 0 else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() async throws {
        let scanner = ModelScanner(safetensorsChecker: ModelScanner.safetensorsRules)
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            if json { Output.json(ErrorBody(.notFound("'\(path)' does not exist"))) } else { Output.diagnostic("error: '\(path)' does not exist") }
            throw ExitCode(3)
        }
        let results = scanner.scan(paths: paths, jobs: jobs)
        var isDirectory: ObjCBool = false
        let singleFile = paths.count == 1 && FileManager.default.fileExists(atPath: paths[0], isDirectory: &isDirectory) && !isDirectory.boolValue
        if json {
            if singleFile, let only = results.first { Output.json(only) } else { Output.json(["files": results]) }
        } else {
            Output.lines(ScanTextRenderer(showImports: imports).render(results))
        }
        if results.contains(where: { $0.verdict == .unsafe }) { throw ExitCode(1) }
        if results.contains(where: { $0.verdict == .invalid }) { throw ExitCode(2) }
    }
}

struct Policy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Which file formats versions may hold.", subcommands: [Set.self, List.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the accepted formats for a scope (admin). Default: \(ScanFormatPolicy.registryDefault.names.joined(separator: ",")).")
        @Argument(help: "'*', 'owner/*' or 'owner/name'.") var scope: String
        @Option(help: "Comma-separated: \(ScanFormatPolicy.familyNames). Pickle-based files must still scan clean.") var formats: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let list = formats.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let info = try await client.withClient { try await $0.setFormatPolicy(scope: scope, formats: list) }
                if client.json { Output.json(info) } else { Output.line("\(info.scope): \(info.formats.joined(separator: ","))") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List format policies.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let items = try await client.withClient { try await $0.formatPolicies() }
                if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                    Output.table(["SCOPE", "FORMATS", "UPDATED", "BY"], items.map { [$0.scope, $0.formats.joined(separator: ","), $0.updatedAt, $0.updatedBy] })
                }
            }
        }
    }
}
