extension Migrations {
    /// 18: web UI sessions (issue 29). A session belongs to the token it was opened with, so it
    /// ends when that token is revoked or expires (the read joins `tokens`); `expires_at` is
    /// never later than the token's expiry. Only the SHA-256 of the session id is stored, like
    /// tokens: a copy of the database opens no session. `csrf` is the form token of the session.
    static let sessions: [String] = [
        """
        CREATE TABLE ui_sessions (id_hash TEXT PRIMARY KEY, token_id TEXT NOT NULL REFERENCES tokens(id),
          csrf TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)
        """,
        "CREATE INDEX ui_sessions_token ON ui_sessions (token_id)",
        "CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at)",
    ]
}
