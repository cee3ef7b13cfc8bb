import Foundation
import Synchronization
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// How `vessel agent` learns the environment it serves with: a `pip freeze` file (`--freeze`),
/// or a Python interpreter (`--python PATH`) asked for `PATH -m pip freeze`, its version and
/// platform, each within `timeout` (a hung interpreter is killed and the agent refuses to start).
public enum AgentEnvironment {
    /// What `--python PATH` runs to learn the version and platform markers are evaluated for.
    static let probe = "import platform, sys; print(platform.python_version()); print(sys.platform)"

    /// The environment of `--freeze FILE` (with `--python-version`/`--platform` when given) or
    /// `--python PATH`, plus `--image`; nil when none is given.
    /// - Throws: `invalid_argument` for an unreadable freeze, a failing or hung interpreter, an
    ///   image without a digest; `not_found` for a missing file.
    public static func load(freeze: String?, python: String?, image: String?, pythonVersion: String?, platform: String?,
                            timeout: Duration = .seconds(60)) async throws(VesselError) -> NodeEnvironment? {
        guard freeze != nil || python != nil || image != nil else { return nil }
        var environment = NodeEnvironment(image: image, pythonVersion: pythonVersion, platform: platform)
        if let freeze {
            guard FileManager.default.fileExists(atPath: freeze) else { throw .notFound("--freeze '\(freeze)' does not exist") }
            guard let data = FileManager.default.contents(atPath: freeze), let text = String(data: data, encoding: .utf8) else {
                throw .invalidArgument("--freeze '\(freeze)' cannot be read as UTF-8 text")
            }
            environment.freeze = text
        } else if let python {
            let frozen = try await run(python, ["-m", "pip", "freeze"], timeout: timeout)
            environment.freeze = frozen
            let probed = try await run(python, ["-c", probe], timeout: timeout).split(whereSeparator: \.isNewline).map(String.init)
            if environment.pythonVersion == nil, let version = probed.first {
                // platform.python_version() may say 3.13.0rc1 or 3.12.1+: markers take X.Y.Z.
                let numeric = version.prefix { $0.isNumber || $0 == "." }
                environment.pythonVersion = String(numeric)
            }
            if environment.platform == nil, probed.count > 1 {
                environment.platform = probed[1].hasPrefix("linux") ? "linux" : probed[1]
            }
        }
        do { try environment.validate() } catch {
            throw .invalidArgument("the node's environment: \(error.message)")
        }
        return environment
    }

    /// `executable arguments…`'s standard output, within `timeout` (killed after it).
    /// - Throws: `invalid_argument` when it cannot start, exits non-zero or runs out of time.
    static func run(_ executable: String, _ arguments: [String], timeout: Duration) async throws(VesselError) -> String {
        let shown = ([executable] + arguments).joined(separator: " ")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-agent-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: output.path, contents: nil), let handle = try? FileHandle(forWritingTo: output) else {
            throw .invalidArgument("cannot create a temporary file to run \(shown)")
        }
        defer {
            try? handle.close()
            try? FileManager.default.removeItem(at: output)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = FileHandle.standardError
        let status: Int32? = await withCheckedContinuation { continuation in
            let once = OnceFlag()
            process.terminationHandler = { process in
                if once.claim() { continuation.resume(returning: process.terminationStatus) }
            }
            do { try process.run() } catch {
                process.terminationHandler = nil
                if once.claim() { continuation.resume(returning: -1) }
                return
            }
            let pid = process.processIdentifier
            Task {
                try? await Task.sleep(for: timeout)
                if once.claim() {
                    kill(pid, SIGKILL)
                    continuation.resume(returning: nil)
                }
            }
        }
        guard let status else { throw .invalidArgument("\(shown) did not finish within \(timeout); killed") }
        guard status == 0 else {
            throw .invalidArgument(status == -1 ? "cannot run \(shown)" : "\(shown) exited with status \(status)")
        }
        guard let data = FileManager.default.contents(atPath: output.path) else { throw .invalidArgument("cannot read the output of \(shown)") }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Set once, by whichever of two racers comes first.
final class OnceFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    func claim() -> Bool { flag.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged }
}
