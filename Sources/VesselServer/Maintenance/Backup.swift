import Foundation
import Logging
import NIOPosix
import VesselCore
import VesselMetadata
import VesselStorage

#if canImport(Glibc)
import Glibc
#endif

/// `vessel backup` and `POST /api/v1/admin/backup`: a consistent online copy of a registry.
///
///     DIR/
///       manifest.json       `BackupReport`: snapshot time, audit chain head, counts, bytes copied
///       metadata.sqlite     `VACUUM INTO` of the metadata database (one read transaction)
///       deliveries.sqlite   the same of the delivery database, taken first (see below)
///       blobs/sha256/ab/…   every blob the snapshot records, by digest (the filesystem store's layout)
///
/// The metadata snapshot is taken first and the blob list read *from the snapshot*, so every
/// blob a row of the copy names is copied; blobs committed later belong to the next backup.
/// Blobs are copied incrementally (one already in DIR with the right size is kept) through
/// the verified writer, so a damaged source blob is reported rather than copied. The delivery
/// database is copied before the metadata: its cursors then never run ahead of the events in
/// the copy, and a restore re-delivers rather than skips (delivery is at least once anyway).
///
/// While it runs the backup holds a `backup:<id>` lease row, renewed every minute, which a
/// garbage-collection sweep must honour (docs/decisions/0018-backup-restore-fsck.md).
/// On PostgreSQL the metadata is left to `pg_dump` / PITR and on S3 the blobs to bucket
/// versioning and replication (docs/backup.md); the report's `notes` say so.
public struct Backup: Sendable {
    let store: SQLMetadataStore
    let blobs: any BlobStore
    /// The registry's data directory when metadata is in SQLite there; nil on PostgreSQL.
    let sqliteDataDir: String?
    let holder: String
    let logger: Logger
    let clock: @Sendable () -> Int64

    public init(store: SQLMetadataStore, blobs: any BlobStore, sqliteDataDir: String?, holder: String, logger: Logger,
                clock: @escaping @Sendable () -> Int64 = { Timestamp.micros(Date()) }) {
        self.store = store
        self.blobs = blobs
        self.sqliteDataDir = sqliteDataDir
        self.holder = holder
        self.logger = logger
        self.clock = clock
    }

    static let manifestName = "manifest.json"
    static let leaseTTL: Int64 = 10 * 60 * 1_000_000

    /// - Throws: `already_exists` when `dir` holds files but no earlier backup; `invalid_argument`
    ///   when there is nothing this backup can copy (PostgreSQL and S3); the stores' errors.
    public func run(to dir: String, progress: MaintenanceProgress = .none) async throws -> BackupReport {
        guard sqliteDataDir != nil || blobs is FileSystemBlobStore else {
            throw VesselError.invalidArgument("this registry keeps metadata in PostgreSQL and blobs in S3: back them up with pg_dump or point-in-time recovery and bucket versioning and replication (docs/backup.md); vessel backup has nothing to copy")
        }
        try Self.prepare(dir)
        let id = RandomID.uuid()
        try await store.registerBackup(id: id, holder: holder, now: clock(), ttl: Self.leaseTTL)
        do {
            let report = try await withThrowingTaskGroup(of: BackupReport?.self) { group in
                group.addTask {
                    // Renew the lease while the copy runs; cancelled when it ends.
                    while true {
                        try await Task.sleep(for: .seconds(60))
                        try? await store.registerBackup(id: id, holder: holder, now: clock(), ttl: Self.leaseTTL)
                    }
                }
                group.addTask { try await copy(to: dir, progress: progress) }
                defer { group.cancelAll() }
                while let next = try await group.next() {
                    if let report = next { return report }
                }
                throw CancellationError()
            }
            try? await store.finishBackup(id: id)
            return report
        } catch {
            try? await store.finishBackup(id: id)
            throw error
        }
    }

    private func copy(to dir: String, progress: MaintenanceProgress) async throws -> BackupReport {
        var notes: [String] = []
        let snapshotAt = clock()
        let inventory: MetadataInventory
        let recorded: [(digest: Digest, size: UInt64)]
        if let dataDir = sqliteDataDir {
            // Deliveries first: their cursors must not run ahead of the events in the copy.
            if FileManager.default.fileExists(atPath: "\(dataDir)/deliveries.sqlite") {
                try await Self.snapshot("\(dataDir)/deliveries.sqlite", into: "\(dir)/deliveries.sqlite", logger: logger)
            }
            try await Self.snapshot("\(dataDir)/metadata.sqlite", into: "\(dir)/metadata.sqlite", logger: logger)
            let copy = try await SQLiteBackend.open(path: "\(dir)/metadata.sqlite", readers: 1, logger: logger)
            do {
                let snapshot = SQLMetadataStore(backend: copy)
                inventory = try await snapshot.inventory()
                recorded = try await snapshot.recordedBlobs()
            } catch {
                await copy.shutdown()
                throw error
            }
            await copy.shutdown()
        } else {
            notes.append("metadata not copied: it is in PostgreSQL; back it up with pg_dump or point-in-time recovery (docs/backup.md)")
            inventory = try await store.inventory()
            recorded = try await store.recordedBlobs()
        }

        var result = BlobCopier.Result()
        let blobsIncluded = blobs is FileSystemBlobStore
        if blobsIncluded {
            let target = try FileSystemBlobStore(root: "\(dir)/blobs", threadPool: .blobIO)
            try target.sweepTemporary()
            result = try await BlobCopier(source: blobs, target: target, width: 4).copy(recorded, progress: progress)
        } else {
            notes.append("blobs not copied: they are in S3; keep bucket versioning and replication on (docs/backup.md)")
        }
        let report = BackupReport(
            directory: dir, snapshotAt: Timestamp.rfc3339(micros: snapshotAt), metadataIncluded: sqliteDataDir != nil, blobsIncluded: blobsIncluded,
            auditSeq: inventory.auditSeq, auditHash: inventory.auditHash, models: inventory.models, versions: inventory.versions, aliases: inventory.aliases,
            blobs: recorded.count, blobBytes: recorded.reduce(0) { $0 + $1.size }, missingBlobs: result.failures.map { "\($0.digest) (\($0.problem): \($0.detail))" },
            blobsCopied: result.copied, bytesCopied: result.bytes, notes: notes
        )
        try Self.writeManifest(report, in: dir)
        return report
    }

    /// A consistent copy of the SQLite database at `source` (`VACUUM INTO` on a connection of
    /// its own, beside whatever process serves it).
    static func snapshot(_ source: String, into path: String, logger: Logger) async throws {
        let backend = try await SQLiteBackend.open(path: source, readers: 1, logger: logger)
        do { try await backend.snapshot(into: path) } catch {
            await backend.shutdown()
            throw error
        }
        await backend.shutdown()
    }

    /// Creates `dir` (0700), or accepts it when it is empty or holds an earlier backup.
    static func prepare(_ dir: String) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: dir, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw VesselError.alreadyExists("\(dir) exists and is not a directory") }
            let entries = (try? manager.contentsOfDirectory(atPath: dir)) ?? []
            guard entries.isEmpty || entries.contains(manifestName) else {
                throw VesselError.alreadyExists("\(dir) holds other files and no earlier backup (\(manifestName)); back up into an empty directory or an earlier backup's")
            }
        } else {
            try manager.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    static func writeManifest(_ report: BackupReport, in dir: String) throws {
        let data = try JSONValueEncoder(prettyPrinted: true).encode(report)
        let partial = "\(dir)/\(manifestName).partial"
        guard FileManager.default.createFile(atPath: partial, contents: data + Data("\n".utf8), attributes: [.posixPermissions: 0o600]) else {
            throw VesselError.internalError("could not write \(partial)")
        }
        let fd = Glibc.open(partial, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        guard rename(partial, "\(dir)/\(manifestName)") == 0 else {
            throw VesselError.internalError("could not move \(partial) into place: \(String(cString: strerror(errno)))")
        }
    }

    /// Reads a backup's manifest. - Throws: `not_found` without one, `invalid_argument` when unreadable.
    public static func readManifest(in dir: String) throws -> BackupReport {
        guard let data = FileManager.default.contents(atPath: "\(dir)/\(manifestName)") else {
            throw VesselError.notFound("\(dir) holds no backup (no \(manifestName))")
        }
        do { return try JSONDecoder().decode(BackupReport.self, from: data) } catch {
            throw VesselError.invalidArgument("\(dir)/\(manifestName) is not a Vessel backup manifest: \(error)")
        }
    }
}
