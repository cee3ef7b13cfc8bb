import Foundation
import Logging
import NIOPosix
import VesselCore
import VesselMetadata
import VesselStorage

#if canImport(Glibc)
import Glibc
#endif

/// `vessel restore --from DIR --data-dir NEW`: a backup made by `Backup` into a new data
/// directory that `vessel serve --data-dir NEW` then serves. Every blob is hashed while it is
/// copied (only bytes matching their digest land in NEW), then the audit chain is verified and
/// every committed version's blobs are checked present.
public enum Restore {
    /// - Throws: `already_exists` when `dataDir` exists and is not empty (exit 5); `not_found`
    ///   without a backup in `from`; `invalid_argument` for a backup without metadata or blobs
    ///   (made on PostgreSQL or S3).
    public static func run(from: String, dataDir: String, logger: Logger, progress: MaintenanceProgress = .none) async throws -> RestoreReport {
        let manifest = try Backup.readManifest(in: from)
        guard manifest.metadataIncluded, manifest.blobsIncluded else {
            throw VesselError.invalidArgument("the backup in \(from) holds no \(manifest.metadataIncluded ? "blobs" : "metadata") (it was made of a registry on \(manifest.metadataIncluded ? "S3" : "PostgreSQL")); restore that part as docs/backup.md describes")
        }
        let manager = FileManager.default
        if manager.fileExists(atPath: dataDir) {
            let entries = (try? manager.contentsOfDirectory(atPath: dataDir)) ?? ["?"]
            guard entries.isEmpty else {
                throw VesselError.alreadyExists("\(dataDir) is not empty; restore into a new or empty directory")
            }
        }
        try Registry.prepareDataDirectory(dataDir, logger: logger)
        for name in ["deliveries.sqlite", "metadata.sqlite"] where manager.fileExists(atPath: "\(from)/\(name)") {
            try copyFile("\(from)/\(name)", to: "\(dataDir)/\(name)")
        }
        let backend = try await SQLiteBackend.open(path: "\(dataDir)/metadata.sqlite", readers: 1, logger: logger)
        do {
            let store = SQLMetadataStore(backend: backend)
            let recorded = try await store.recordedBlobs()
            let source = try FileSystemBlobStore(root: "\(from)/blobs", threadPool: .blobIO)
            let target = try FileSystemBlobStore(root: "\(dataDir)/blobs", threadPool: .blobIO)
            let copied = try await BlobCopier(source: source, target: target, width: 4).copy(recorded, progress: progress)
            let failed = Dictionary(copied.failures.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
            let findings = try await store.committedBlobReferences().compactMap { reference -> FsckFinding? in
                guard let failure = failed[reference.digest] else { return nil }
                return FsckFinding(model: reference.model.description, version: reference.version, path: reference.path, digest: reference.digest.description,
                                   problem: failure.problem, detail: failure.detail + " (in the backup)", state: reference.state.rawValue)
            }
            let audit = try await store.verifyAuditChain()
            await backend.shutdown()
            return RestoreReport(dataDir: dataDir, snapshotAt: manifest.snapshotAt, blobs: copied.copied, bytes: copied.bytes, audit: audit, findings: findings)
        } catch {
            await backend.shutdown()
            throw error
        }
    }

    /// Copies a file through `NAME.partial`, fsynced, mode 0600.
    static func copyFile(_ source: String, to path: String) throws {
        let partial = "\(path).partial"
        unlink(partial)
        do { try FileManager.default.copyItem(atPath: source, toPath: partial) } catch {
            throw VesselError.internalError("could not copy \(source): \(error.localizedDescription)")
        }
        chmod(partial, 0o600)
        let fd = Glibc.open(partial, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        guard rename(partial, path) == 0 else {
            throw VesselError.internalError("could not move \(partial) into place: \(String(cString: strerror(errno)))")
        }
    }
}
