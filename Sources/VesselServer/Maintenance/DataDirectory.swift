import Foundation
import Logging
import NIOPosix
import VesselCore
import VesselMetadata
import VesselStorage

/// A registry's stores opened directly, without a server: what `vessel fsck --data-dir`,
/// `vessel backup --data-dir` and `vessel restore` work on.
///
/// It may be opened while `vessel serve` runs on the same directory: SQLite in WAL mode is
/// shared by processes (readers see committed data, a write waits for the server's), and
/// nothing here sweeps the blob store's temporary files or applies migrations.
public struct DataDirectory: Sendable {
    public let dataDir: String
    public let store: SQLMetadataStore
    public let backend: any SQLBackend
    public let blobs: any BlobStore
    /// Whether metadata is the SQLite database in `dataDir` (else PostgreSQL).
    public var onSQLite: Bool { backend is SQLiteBackend }
    let s3: S3BlobStore?

    /// Opens the stores `serve` would with the same `options` (data directory, `--database`,
    /// `--storage` and its credentials).
    /// - Throws: `not_found` when `dataDir` holds no registry (on SQLite), `schema_too_new` or
    ///   `invalid_argument` when its schema is not this binary's, and the backends' errors.
    public static func open(_ options: ServerOptions, logger: Logger) async throws -> DataDirectory {
        if options.databaseURL == nil {
            guard FileManager.default.fileExists(atPath: "\(options.dataDir)/metadata.sqlite") else {
                throw VesselError.notFound("\(options.dataDir) holds no Vessel registry (no metadata.sqlite)")
            }
        }
        let blobs: any BlobStore
        var s3: S3BlobStore?
        if options.storageURL == nil {
            // Not `Registry.openStorage`: that sweeps temporary files a running server may be writing.
            blobs = try FileSystemBlobStore(root: "\(options.dataDir)/blobs", threadPool: .blobIO)
        } else {
            let opened = try await Registry.openStorage(options, faults: .none, policy: .unbounded, logger: logger)
            blobs = opened.blobs
            s3 = opened.s3
        }
        let backend: any SQLBackend
        do { backend = try await Registry.openMetadata(options, policy: .unbounded, logger: logger) } catch {
            await s3?.shutdown()
            throw error
        }
        let applied = await Migrations.appliedVersion(on: backend)
        guard applied == Migrations.latest else {
            await backend.shutdown()
            await s3?.shutdown()
            if applied > Migrations.latest {
                throw VesselError(.schemaTooNew, "the metadata database has schema version \(applied), newer than this Vessel's \(Migrations.latest); use the Vessel that serves it")
            }
            throw VesselError.invalidArgument("the metadata database has schema version \(applied), not this Vessel's \(Migrations.latest); start `vessel serve` on it once to migrate it")
        }
        return DataDirectory(dataDir: options.dataDir, store: SQLMetadataStore(backend: backend), backend: backend, blobs: blobs, s3: s3)
    }

    public func close() async {
        await backend.shutdown()
        await s3?.shutdown()
    }
}
