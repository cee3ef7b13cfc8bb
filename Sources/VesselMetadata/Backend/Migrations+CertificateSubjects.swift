extension Migrations {
    /// Mutual TLS (issue 33, docs/tls.md). `principal_cert_subjects` maps a verified client
    /// certificate's identity to the principal it stands for: its subject as RFC 4514 text
    /// (`CN=ci-bot,O=Example`, normalized by `CertificateSubject.normalize`) or one of its subject
    /// alternative names (`URI:spiffe://…`, `DNS:bot.example`); one identity names one principal.
    /// `audit_log` gains what each change was authenticated with (`credential`: `token` or
    /// `certificate <identity>`) and the client's address (`client_address`, after
    /// `--trust-proxy`); both are null in entries written before, and are hashed into the chain
    /// only when set, so older entries verify unchanged (docs/audit.md).
    static let certificateSubjects: [String] = [
        """
        CREATE TABLE principal_cert_subjects (subject TEXT PRIMARY KEY, principal_id TEXT NOT NULL REFERENCES principals(id),
          created_at BIGINT NOT NULL)
        """,
        "CREATE INDEX principal_cert_subjects_principal ON principal_cert_subjects (principal_id)",
        "ALTER TABLE audit_log ADD COLUMN credential TEXT",
        "ALTER TABLE audit_log ADD COLUMN client_address TEXT",
    ]
}
