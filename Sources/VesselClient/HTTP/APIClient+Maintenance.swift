import VesselCore

extension APIClient {
    /// `POST /api/v1/admin/fsck` (admin): checks the server's stores; answers when done.
    public func fsck(_ request: FsckRequest) async throws -> FsckReport {
        try await call(.POST, "/api/v1/admin/fsck", body: request, as: FsckReport.self)
    }

    /// `POST /api/v1/admin/backup` (admin): a backup into `to`, a directory on the server's machine.
    public func backup(to: String) async throws -> BackupReport {
        try await call(.POST, "/api/v1/admin/backup", body: BackupRequest(to: to), as: BackupReport.self)
    }
}
