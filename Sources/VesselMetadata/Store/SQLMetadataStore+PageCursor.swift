import Crypto
import Foundation
import SQLKit
import VesselCore

extension SQLMetadataStore: PageCursorSource {
    /// The codec of every list's cursors, keyed by the `page_cursor` secret in
    /// `vessel_secrets`: 32 random bytes made on first use with `INSERT … ON CONFLICT DO
    /// NOTHING` and then read back, so replicas racing to make it all use the one stored.
    /// Read once per process.
    /// - Throws: when the database cannot be reached, or holds a damaged key.
    public func pageCursor() async throws -> PageCursor {
        if let cursors = pageCursors.withLock({ $0 }) { return cursors }
        let select = "SELECT value FROM vessel_secrets WHERE name = 'page_cursor'"
        var stored = try await backend.read { db in
            try await db.raw(SQLQueryString(select)).first().map { try $0.decode(column: "value", as: String.self) }
        }
        if stored == nil {
            let made = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
            stored = try await backend.transaction { db in
                try await db.raw("INSERT INTO vessel_secrets (name, value) VALUES ('page_cursor', \(bind: made)) ON CONFLICT (name) DO NOTHING").run()
                return try await db.raw(SQLQueryString(select)).first().map { try $0.decode(column: "value", as: String.self) }
            }
        }
        guard let stored, let bytes = Data(base64Encoded: stored), bytes.count == 32 else {
            throw VesselError.internalError("the paging cursor key in the metadata database is damaged")
        }
        let key = SymmetricKey(data: bytes)
        let cursors = PageCursor { Array(HMAC<SHA256>.authenticationCode(for: $0, using: key)) }
        pageCursors.withLock { $0 = cursors }
        return cursors
    }
}
