extension Migrations {
    /// 9: secrets the server makes for itself and every replica shares, by name. `page_cursor`
    /// is the HMAC key of paging cursors (`PageCursor`), made on first use.
    static let secrets: [String] = [
        "CREATE TABLE vessel_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ]
}
