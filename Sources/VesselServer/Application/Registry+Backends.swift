#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import VesselCore
import VesselMetadata
import VesselStorage

/// Opening the backends the registry is composed of: blob storage, the metadata database and,
/// on SQLite, the delivery database.
extension Registry {
    /// Creates the data directory readable by its owner only (0700): it holds token hashes and
    /// webhook signing secrets. An existing one that group or others may enter is made 0700.
    static func prepareDataDirectory(_ dir: String, logger: Logger) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var info = stat()
        guard stat(dir, &info) == 0, info.st_mode & 0o077 != 0 else { return }
        let was = String(info.st_mode & 0o777, radix: 8)
        if chmod(dir, 0o700) == 0 {
            logger.notice("made the data directory \(dir) the owner's only (0700; it was \(was))")
        } else {
            logger.warning("the data directory \(dir) is open to others (\(was)) and could not be made 0700: \(String(cString: strerror(errno)))")
        }
    }

    /// Checks the stored webhook secrets open with the key (a wrong key stops the start) and
    /// seals those stored before a key was given; without a key, warns.
    static func prepareWebhookSecrets(_ store: SQLMetadataStore, encrypted: Bool, logger: Logger) async throws {
        let sealed = try await store.prepareWebhookSecrets()
        if sealed > 0 { logger.notice("encrypted \(sealed) webhook signing secret(s) stored before --secrets-key-file was given") }
        if !encrypted {
            logger.warning("webhook signing secrets are stored unencrypted in the database; give --secrets-key-file to encrypt them")
        }
    }

    /// Blobs under `dataDir/blobs`, or in the S3 bucket of `storageURL`.
    static func openStorage(_ options: ServerOptions, faults: FileFaults, policy: BackendPolicy, logger: Logger) async throws -> (blobs: any BlobStore, uploads: any ChunkedUploadStore, s3: S3BlobStore?) {
        guard let text = options.storageURL, let credentials = options.storageCredentials else {
            let blobs = try FileSystemBlobStore(root: "\(options.dataDir)/blobs", threadPool: .blobIO, faults: faults, pieceSize: options.uploadPieceSize)
            try blobs.sweepTemporary()
            return (blobs, blobs, nil)
        }
        var location = try S3Location(parsing: text)
        location.caCertPath = options.outgoingCACertPath
        let (s3, status) = try await S3BlobStore.open(location, credentials: credentials, createBucket: options.createBucket,
                                                      cacheRoot: "\(options.dataDir)/s3-cache", policy: policy, logger: logger,
                                                      pieceSize: options.uploadPieceSize)
        if status.created { logger.notice("created bucket '\(location.bucket)'") }
        do {
            let swept = try await s3.sweepAbandonedWrites()
            if swept > 0 { logger.notice("aborted \(swept) blob write(s) left unfinished for over a day") }
        } catch {
            logger.warning("could not look for unfinished blob writes: \(error)")
        }
        if status.versioning != "Enabled" {
            logger.warning("bucket versioning is off on '\(location.bucket)': a deleted or overwritten blob cannot be recovered; enable versioning on the bucket")
        }
        logger.info("blobs in S3", metadata: ["storage": "\(location)", "redirect": "\(options.storageRedirect)"])
        return (s3, s3, s3)
    }

    /// SQLite under `dataDir`, or PostgreSQL at `databaseURL`.
    static func openMetadata(_ options: ServerOptions, policy: BackendPolicy, logger: Logger) async throws -> any SQLBackend {
        if let text = options.databaseURL {
            let url = try PostgresURL(text)
            logger.info("metadata in PostgreSQL", metadata: ["database": "\(url.redacted)"])
            return try await PostgresBackend.connect(url: url, policy: policy, logger: logger)
        }
        return try await SQLiteBackend.open(path: "\(options.dataDir)/metadata.sqlite", logger: logger)
    }

    /// On SQLite, webhook delivery state in `deliveries.sqlite` beside `metadata.sqlite`, with
    /// a writer of its own (docs/decisions/0009-delivery-database.md); nil on PostgreSQL.
    static func openDeliveries(_ options: ServerOptions, logger: Logger) async throws -> SQLiteBackend? {
        guard options.databaseURL == nil else { return nil }
        let deliveries = try await SQLiteBackend.open(path: "\(options.dataDir)/deliveries.sqlite", readers: 2, logger: logger)
        do {
            try await Migrations.runDeliveries(on: deliveries, registryPath: "\(options.dataDir)/metadata.sqlite", logger: logger)
        } catch {
            await deliveries.shutdown()
            throw error
        }
        return deliveries
    }
}
