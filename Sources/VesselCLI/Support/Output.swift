import ArgumentParser
import Foundation
import VesselCore
import VesselSigning

/// Where every command's results (stdout) and diagnostics (stderr) go, and how errors become
/// exit codes. With `--json`, a failure prints the API's error object on stdout.
///
/// Human-readable output is made safe here, once: `line`, `lines`, `table`, `diagnostic` and
/// `prompt` pass what they print through `TerminalText.escaped`, so a control character in a
/// path, description, reason or server message shows as `\x1b` instead of reaching the
/// terminal (a forged audit line, a retitled window). Commands print only through `Output`;
/// none writes to `FileHandle.standardOutput` itself. JSON goes out as encoded: the encoder
/// escapes control characters already. Bytes go through `StandardStream`, which decides
/// what a closed pipe does.
enum Output {
    /// `value` pretty-printed in the API's shape: the server's encoder, so absent fields are
    /// `null` here too.
    static func json<T: Encodable>(_ value: T) {
        guard let data = try? JSONValueEncoder(prettyPrinted: true).encode(value) else { return }
        jsonData(data)
    }

    /// A JSON document encoded elsewhere (it escapes control characters itself), and a newline.
    static func jsonData(_ data: Data) {
        StandardStream.out(data + Data("\n".utf8))
    }

    /// One line on stdout, control characters escaped (newlines inside `text` too).
    static func line(_ text: String) {
        StandardStream.out((TerminalText.escaped(text) + "\n").utf8)
    }

    /// A block rendered elsewhere (scan and inspect reports), `\n`-separated lines on stdout:
    /// every other control character is escaped, line by line.
    static func lines(_ text: String) {
        let escaped = text.split(separator: "\n", omittingEmptySubsequences: false).map { TerminalText.escaped(String($0)) }
        StandardStream.out(escaped.joined(separator: "\n").utf8)
    }

    /// One line on stderr, control characters escaped.
    static func diagnostic(_ text: String) {
        StandardStream.err((TerminalText.escaped(text) + "\n").utf8)
    }

    /// A question on stderr, without a newline, control characters escaped.
    static func prompt(_ text: String) {
        StandardStream.err(TerminalText.escaped(text).utf8)
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

    /// Left-aligned columns, every cell escaped before the widths are measured.
    static func table(_ header: [String], _ rows: [[String]]) {
        let all = ([header] + rows).map { $0.map(TerminalText.escaped) }
        var widths = [Int](repeating: 0, count: header.count)
        for row in all { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        for row in all {
            line(row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }
}
