import Hummingbird
import Logging
import VesselCore
import VesselMetadata
import VesselStorage

/// fsck and backup of a running registry (docs/backup.md). Both run inside the request: the
/// answer comes when the work is done (a rehash or a first backup of a large store takes as
/// long as reading it).
struct MaintenanceController {
    let store: SQLMetadataStore
    let blobs: any BlobStore
    let options: ServerOptions

    func register(_ routes: APIRoutes) {
        routes.on(.post, "/api/v1/admin/fsck", .admin) { request, context, caller in
            let body = try await JSONResponse.decode(FsckRequest.self, from: request, context: context)
            if let jobs = body.jobs, jobs < 1 || jobs > 256 { throw VesselError.invalidArgument("jobs must be between 1 and 256") }
            let fsck = Fsck(store: store, blobs: blobs, draftLifetime: BackgroundJobs.micros(options.uploadSessionTTL))
            return try JSONResponse.make(try await fsck.run(body, actor: caller.change.actor, requestID: caller.change.requestID))
        }
        routes.on(.post, "/api/v1/admin/backup", .admin) { request, context, _ in
            let body = try await JSONResponse.decode(BackupRequest.self, from: request, context: context)
            guard body.to.hasPrefix("/") else {
                throw VesselError.invalidArgument("to must be an absolute directory on the server's machine")
            }
            let backup = Backup(store: store, blobs: blobs, sqliteDataDir: options.databaseURL == nil ? options.dataDir : nil,
                                holder: options.replicaID, logger: Logger(label: "vessel.backup"))
            return try JSONResponse.make(try await backup.run(to: body.to))
        }
    }
}
