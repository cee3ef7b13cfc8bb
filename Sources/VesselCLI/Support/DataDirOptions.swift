import ArgumentParser
import Foundation
import Logging
import VesselCore
import VesselServer
import VesselStorage

/// Where the maintenance commands (`fsck`, `backup`) find a registry's stores when they work on
/// them directly instead of through a server: the data directory, and `serve`'s `--database`
/// and `--storage` when the registry uses them.
struct DataDirOptions: ParsableArguments {
    @Option(help: "Work on this data directory directly (may be served meanwhile) instead of through --server.")
    var dataDir: String?

    @Option(help: "With --data-dir: the registry's metadata is in this PostgreSQL database (postgres://…), as given to serve.")
    var database: String?

    @Option(help: "With --data-dir: the registry's blobs are in this S3 location (s3://bucket/prefix?endpoint=…), as given to serve; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")
    var storage: String?

    func validate() throws {
        if dataDir == nil && (database != nil || storage != nil) {
            throw ValidationError("--database and --storage need --data-dir (without it the command asks --server)")
        }
    }

    /// The options `serve` would have for the same stores.
    func serverOptions(_ dataDir: String) -> ServerOptions {
        var options = ServerOptions(dataDir: dataDir, host: "127.0.0.1", port: 0, adminToken: nil)
        options.databaseURL = database
        options.storageURL = storage
        let env = ProcessInfo.processInfo.environment
        if storage != nil, let access = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"], !access.isEmpty, !secret.isEmpty {
            options.storageCredentials = S3Credentials(accessKey: access, secretKey: secret, sessionToken: env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        }
        return options
    }

    /// Warnings and worse on stderr; stdout stays the command's.
    static let logger = Logger(label: "vessel") { StderrLogHandler(label: $0, level: .warning) }

    /// Who an offline change is recorded as in the audit log.
    static var offlineActor: String { "\(ProcessInfo.processInfo.environment["USER"] ?? "unknown")@\(ProcessInfo.processInfo.hostName) (offline)" }
}
