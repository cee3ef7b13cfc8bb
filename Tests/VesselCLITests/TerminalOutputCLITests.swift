import Foundation
import Testing
import VesselTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// What the CLI writes to a terminal: user text with control characters escaped (issue 21,
/// item 7), and a quiet exit when stdout is closed early (item 11).
@Suite(.serialized) struct TerminalOutputCLITests {
    static let osc = "\u{1b}]0;pwned\u{07}"
    static let sgr = "\u{1b}[31m"
    static let csi = "\u{9b}2J"

    /// ESC/OSC sequences in file paths, descriptions and reasons reach stdout as `\x1b`, never
    /// as the byte; `--json` keeps the text as it is (JSON escapes it itself).
    @Test func userTextIsEscapedInEveryHumanReadableOutput() async throws {
        let server = try await ServeProcess()
        let env = server.env
        let folder = TempDir.make("vessel-escapes")
        try TempDir.writeFile("\(folder)/\(Self.osc)title.bin", count: 100, seed: 3)
        try TempDir.writeFile("\(folder)/\(Self.sgr)red.bin", count: 100, seed: 4)
        let description = "desc \(Self.osc) \(Self.sgr) \(Self.csi) line\nforged"
        let reason = "why \(Self.osc)\n2026-01-01T00:00:00Z  admin  alias.set  forged"
        #expect(try await CLI.run(["model", "create", "acme/esc", "--description", description], environment: env).status == 0)
        let push = try await CLI.run(["push", folder, "--model", "acme/esc", "--description", description], environment: env)
        #expect(push.status == 0, "\(push.stderr)")
        let promote = try await CLI.run(["promote", "acme/esc", "1", "--to", "prod", "--reason", reason], environment: env)
        #expect(promote.status == 0, "\(promote.stderr)")

        let commands: [[String]] = [
            ["show", "acme/esc:1"], ["audit", "--model", "acme/esc"], ["alias", "history", "acme/esc", "prod"], ["models"],
        ]
        for arguments in commands {
            let result = try await CLI.run(arguments, environment: env)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            Self.expectEscaped(result.stdout, arguments)
            #expect(result.stdout.contains(#"\x1b"#), "\(arguments): \(result.stdout)")
        }
        let show = try await CLI.run(["show", "acme/esc:1"], environment: env)
        #expect(show.stdout.contains(#"\x1b]0;pwned\x07title.bin"#))
        #expect(show.stdout.contains(#"\x1b[31mred.bin"#))
        #expect(show.stdout.contains(#"\x9b2J line\x0aforged"#))
        let audit = try await CLI.run(["audit", "--model", "acme/esc"], environment: env)
        #expect(audit.stdout.contains(#"why \x1b]0;pwned\x07\x0a2026"#))
        #expect(!audit.stdout.split(separator: "\n").contains { $0.hasPrefix("2026-01-01") })
        for arguments in [["versions", "acme/esc"], ["alias", "list", "acme/esc"]] {
            let result = try await CLI.run(arguments, environment: env)
            #expect(result.status == 0)
            Self.expectEscaped(result.stdout, arguments)
        }

        // --json is left as it was: the text round-trips exactly.
        let json = try await CLI.run(["show", "acme/esc:1", "--json"], environment: env)
        #expect(try json.json()["description"] as? String == description)

        // Diagnostics on stderr that echo text go through the same escaping.
        let bad = try await CLI.run(["check", "report", "acme/esc:1", "--name", "eval", "--status", "passed", "--metric", "\(Self.sgr)=x"], environment: env)
        #expect(bad.status == 2)
        Self.expectEscaped(bad.stderr, ["check", "report"])
        #expect(bad.stderr.contains(#"metric '\x1b[31m=x'"#))
    }

    /// stdout closed before the CLI writes (`vessel show --json | head -c 0`): no SIGPIPE
    /// death, no runtime trap, nothing on stderr; the command's own exit status.
    @Test func aClosedStdoutEndsQuietly() async throws {
        let server = try await ServeProcess()
        let env = server.env
        let folder = TempDir.make("vessel-pipe")
        try TempDir.writeFile("\(folder)/w.bin", count: 100, seed: 5)
        #expect(try await CLI.run(["push", folder, "--model", "acme/pipe"], environment: env).status == 0)

        for arguments in [["show", "acme/pipe:1", "--json"], ["show", "acme/pipe:1"], ["audit"]] {
            let result = try await Self.runWithClosedStdout(arguments, environment: env)
            #expect(result.reason == .exit, "\(arguments): killed by signal \(result.status)")
            #expect(result.status == 0, "\(arguments)")
            #expect(!result.stderr.contains("Fatal error"), "\(arguments): \(result.stderr)")
            #expect(result.stderr.isEmpty, "\(arguments): \(result.stderr)")
        }
        // A failure keeps its exit code though its error object on stdout is never read.
        let missing = try await Self.runWithClosedStdout(["show", "acme/nothing", "--json"], environment: env)
        #expect(missing.reason == .exit && missing.status == 3)
        #expect(missing.stderr.isEmpty, "\(missing.stderr)")
        // And a local command, without a server.
        let scan = try await Self.runWithClosedStdout(["scan", folder, "--json"], environment: env)
        #expect(scan.reason == .exit && scan.status == 0)
        #expect(scan.stderr.isEmpty, "\(scan.stderr)")
    }

    static func expectEscaped(_ text: String, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let bytes = Array(text.utf8)
        #expect(!bytes.contains(0x1b), "\(arguments): raw ESC in \(text.debugDescription)", sourceLocation: sourceLocation)
        #expect(!bytes.contains(0x07), "\(arguments): raw BEL in \(text.debugDescription)", sourceLocation: sourceLocation)
        #expect(!text.unicodeScalars.contains { (0x80...0x9F).contains($0.value) }, "\(arguments): raw C1", sourceLocation: sourceLocation)
    }

    /// Runs `vessel ARGS` with stdout a pipe whose read end is closed before the process
    /// starts, so its first write to stdout fails (EPIPE, or SIGPIPE when not ignored).
    static func runWithClosedStdout(_ arguments: [String], environment: [String: String]) async throws -> (reason: Process.TerminationReason, status: Int32, stderr: String) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TestFailure("pipe failed: \(errno)") }
        close(fds[0])
        // Close-on-exec, so the descriptor stays out of every process but this one's child.
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let errPath = TempDir.make("vessel-pipe-err") + "/stderr"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let outHandle = FileHandle(fileDescriptor: fds[1], closeOnDealloc: true)
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "XDG_CONFIG_HOME": "/nonexistent-vessel-config"].merging(environment) { _, new in new }
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        let stderr = String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self)
        return (process.terminationReason, status, stderr)
    }
}
