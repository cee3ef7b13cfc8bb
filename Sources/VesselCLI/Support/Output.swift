import ArgumentParser
import Foundation
import VesselCore
import VesselSigning

/// Where every command's results (stdout) and diagnostics (stderr) go, and how errors become
/// exit codes. With `--json`, a failure prints the API's error object on stdout.
enum Output {
    /// `value` pretty-printed in the API's shape: the server's encoder, so absent fields are
    /// `null` here too.
    static func json<T: Encodable>(_ value: T) {
        guard let data = try? JSONValueEncoder(prettyPrinted: true).encode(value) else { return }
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func diagnostic(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Runs a command body, mapping errors to the conventions' exit codes.
    static func run(json: Bool, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ExitCode {
            throw error
        } catch let error as any SigningLibraryError {
            // The signing library's own codes (docs/signing.md), e.g. key_hint_mismatch.
            let differences = (error as? FolderMismatch)?.differences ?? []
            let details = differences.count > 1 ? differences.map(\.message) : []
            if json {
                Output.json(ErrorBody(code: error.code, message: error.message, details: details))
            } else {
                diagnostic("error: \(error.message)")
                for detail in details.prefix(20) { diagnostic("  \(detail)") }
            }
            // A wrong PIN is "not allowed" under the exit-code conventions.
            throw ExitCode(error.code == "pin_incorrect" ? 4 : error.exitCode)
        } catch {
            let vesselError = (error as? VesselError) ?? VesselError(.internalError, String(describing: error))
            if json {
                Output.json(ErrorBody(vesselError))
            } else {
                diagnostic("error: \(vesselError.message)")
                for detail in vesselError.details.prefix(20) { diagnostic("  \(detail)") }
            }
            throw ExitCode(vesselError.code.exitCode)
        }
    }

    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// Left-aligned columns.
    static func table(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        for row in all {
            line(row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }
}
