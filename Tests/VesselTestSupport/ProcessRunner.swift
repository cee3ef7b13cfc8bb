import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a finished process left: its exit status and its output.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    /// stdout as a JSON object.
    public func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
            throw TestFailure("stdout is not a JSON object: \(stdout)")
        }
        return object
    }

    /// The code of `{"error": {"code", "message"}}` on stdout.
    public func errorCode() throws -> String? {
        (try json()["error"] as? [String: Any])?["code"] as? String
    }
}

/// Runs `executable` to its end and returns its status and output: the one process runner of
/// the tests.
///
/// No thread of Swift's cooperative pool waits for it (the pool has one thread per core, and
/// tests blocked in `waitUntilExit` there stall every other test): the task is suspended until
/// the process's termination handler resumes it. stdout and stderr go to files, so a chatty
/// process never blocks on a full pipe; `stdin`, when given, is read from a file too.
///
/// To run a process in the background, call this in a child task (`async let`, a task
/// group): cancelling the task kills the process (SIGKILL) and, once it has exited, throws
/// `CancellationError`.
/// A process still running after `timeLimit` is killed and the run fails with its output: a
/// hung child would otherwise hold the whole test run until CI's own limit, naming nothing.
/// - Parameter environment: the whole environment of the process; nil inherits the tests'.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdin: String? = nil,
                       timeLimit: Duration = .seconds(300)) async throws -> ProcessResult {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-proc-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err"), input = dir.appendingPathComponent("in")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
    defer {
        try? outHandle.close()
        try? errHandle.close()
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardOutput = outHandle
    process.standardError = errHandle
    if let stdin {
        _ = FileManager.default.createFile(atPath: input.path, contents: Data(stdin.utf8))
        process.standardInput = try FileHandle(forReadingFrom: input)
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    let launch = Launch()
    let watchdog = Task {
        try await Task.sleep(for: timeLimit)
        launch.expire()
    }
    defer { watchdog.cancel() }
    let status: Int32 = try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in
                launch.exited()
                continuation.resume(returning: process.terminationStatus)
            }
            do {
                guard try launch.start(process) else { return continuation.resume(throwing: CancellationError()) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    } onCancel: {
        launch.cancel()
    }
    try Task.checkCancellation()
    if launch.expired {
        let name = ([URL(fileURLWithPath: executable).lastPathComponent] + arguments).joined(separator: " ")
        let stderr = String(decoding: (try? Data(contentsOf: err)) ?? Data(), as: UTF8.self)
        throw TestFailure("`\(name)` ran past \(timeLimit) and was killed; its stderr:\n\(stderr.suffix(4000))")
    }
    return ProcessResult(
        status: status,
        stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
        stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self)
    )
}

/// A process's id from its start to its exit, so that cancelling signals it only while it
/// runs (never pid 0, never a pid reused after its exit), and never starts it once cancelled.
private final class Launch: @unchecked Sendable {
    private let lock = NSLock()
    private var pid: pid_t?
    private var cancelled = false
    private var timedOut = false

    /// Starts `process` unless cancelled; false when it was not started.
    func start(_ process: Process) throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !cancelled else { return false }
        try process.run()
        pid = process.processIdentifier
        return true
    }

    func exited() {
        lock.lock()
        defer { lock.unlock() }
        pid = nil
    }

    /// The time limit ran out: kills the process if it runs.
    func expire() {
        lock.lock()
        defer { lock.unlock() }
        timedOut = true
        if let pid { kill(pid, SIGKILL) }
    }

    var expired: Bool {
        lock.lock()
        defer { lock.unlock() }
        return timedOut
    }

    /// Kills the process if it runs; keeps it from starting if it does not yet.
    func cancel() {
        lock.lock()
        defer { lock.unlock() }
        cancelled = true
        if let pid { kill(pid, SIGKILL) }
    }
}

/// A test's own failure (a process that did not start, output that is not what was expected).
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
