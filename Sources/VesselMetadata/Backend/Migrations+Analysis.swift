extension Migrations {
    /// 2: what validators learned (safetensors summary, scan report), searchable parameter
    /// count and dtypes, and the format policies of the scanner.
    static let analysis: [String] = [
        "ALTER TABLE versions ADD COLUMN summary TEXT",
        "ALTER TABLE versions ADD COLUMN scan_report TEXT",
        "ALTER TABLE versions ADD COLUMN parameters BIGINT",
        // `,BF16,F32,`: delimited so `LIKE '%,F32,%'` matches one dtype exactly.
        "ALTER TABLE versions ADD COLUMN dtypes TEXT",
        """
        CREATE TABLE format_policies (scope TEXT PRIMARY KEY, formats TEXT NOT NULL, updated_at BIGINT NOT NULL,
          updated_by TEXT NOT NULL)
        """,
    ]
}
