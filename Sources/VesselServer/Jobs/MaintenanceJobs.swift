import VesselMetadata
import VesselStorage

/// The registry's maintenance jobs.
enum MaintenanceJobs {
    /// Deletes expired upload sessions (chunks first, then the row), and chunk storage that
    /// has no session row left (a crash between the two deletions).
    static func uploadExpiry(store: any UploadSessionStore, uploads: any ChunkedUploadStore, interval: Duration) -> BackgroundJob {
        BackgroundJob(name: "upload-expiry", interval: interval) { now in
            var handled = 0
            while true {
                let expired = try await store.expiredUploadSessions(now: now, limit: 100)
                for session in expired {
                    try await uploads.deleteSession(session.id)
                    try await store.deleteUploadSession(id: session.id)
                }
                handled += expired.count
                if expired.count < 100 { break }
            }
            let stored = try await uploads.sessionIDs()
            let known = try await store.existingUploadSessions(stored)
            for id in stored where !known.contains(id) {
                try await uploads.deleteSession(id)
                handled += 1
            }
            return handled
        }
    }

    /// Deletes outbox events older than `retention` (microseconds), in batches.
    static func outboxRetention(store: any OutboxRetention, retention: Int64, interval: Duration) -> BackgroundJob {
        BackgroundJob(name: "outbox-retention", interval: interval) { now in
            var handled = 0
            for _ in 0..<100 {
                let deleted = try await store.purgeEvents(before: now - retention, limit: 1000)
                handled += deleted
                if deleted < 1000 { break }
            }
            return handled
        }
    }
}
