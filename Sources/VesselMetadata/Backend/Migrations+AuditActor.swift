extension Migrations {
    /// 21: the audit page's actor filter (issue 29) reads entries newest first by one actor; without
    /// this index a rare actor meant reading the whole chain (164 ms p50 over 100,000 entries,
    /// scripts/bench_ui.sh, docs/ui.md). The model filter has `audit_log_model` since the spine.
    static let auditActor: [String] = [
        "CREATE INDEX audit_log_actor ON audit_log (actor, seq)",
    ]
}
