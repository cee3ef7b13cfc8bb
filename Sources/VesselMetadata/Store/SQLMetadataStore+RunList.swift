import SQLKit
import VesselCore

extension SQLMetadataStore {
    /// Every run, newest first, without its config text (`GET /api/v1/runs` filters them by what
    /// the caller may read and pages them).
    public func allRuns() async throws -> [RunInfo] {
        try await backend.read { db in
            let rows = try await db.raw("SELECT \(unsafeRaw: Self.runColumns) FROM runs ORDER BY created_at DESC, id").all()
            return try await self.runInfos(db, rows, withConfig: false)
        }
    }
}
