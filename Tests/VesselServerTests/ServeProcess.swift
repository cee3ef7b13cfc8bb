import VesselTestSupport

// `vessel serve` as a process is VesselTestSupport's `ServeProcess`, shared with the CLI
// tests. What follows are the names this target's tests know it by.
typealias ServeProcess = VesselTestSupport.ServeProcess

extension ServeProcess {
    /// The built `vessel` binary, or nil when it was not built.
    static var executable: String? { VesselExecutable.path }

    typealias CLIResult = ProcessResult

    /// Runs `vessel ARGS` against `server` as the admin, with no user configuration.
    static func runCLI(_ arguments: [String], server: ServeProcess) async throws -> CLIResult {
        try await CLI.run(arguments, environment: server.env)
    }

    static func freePort() throws -> Int { CLI.freePort() }

    /// SIGKILL: no graceful shutdown, no flushing — a crash.
    func kill9() { kill() }
}
