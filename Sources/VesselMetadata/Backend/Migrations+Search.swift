import Foundation
import SQLKit

extension Migrations {
    /// 16: search and metadata at scale (issue 27): when a model last changed, its tags as rows
    /// (an exact, indexed tag match), and the indexes keyset paging walks in each sort order.
    ///
    /// - `models.updated_at` moves on `model update` and on every committed version; existing
    ///   rows start at their creation time.
    /// - `model_tags` mirrors `models.tags` (the JSON the API answers with stays the source the
    ///   reads decode); the backfill copies every existing model's tags.
    /// - `models_created` / `models_updated` serve `sort=created|updated` (newest first, then
    ///   owner and name); `sort=name` walks `UNIQUE (owner, name)`. `versions_created` serves
    ///   the cross-model version search, newest first; a model's own list walks
    ///   `UNIQUE (model_id, number)`, a digest search `version_files_digest`.
    static let search: [String] = [
        "ALTER TABLE models ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0",
        "UPDATE models SET updated_at = created_at",
        "CREATE TABLE model_tags (tag TEXT NOT NULL, model_id TEXT NOT NULL REFERENCES models(id), PRIMARY KEY (tag, model_id))",
        "CREATE INDEX model_tags_model ON model_tags (model_id)",
        "CREATE INDEX models_created ON models (created_at, owner, name)",
        "CREATE INDEX models_updated ON models (updated_at, owner, name)",
        "CREATE INDEX versions_created ON versions (created_at, id)",
    ]

    /// Copies each model's JSON tags into `model_tags` (step 16).
    static let backfillModelTags: Backfill = { db in
        let rows = try await db.raw("SELECT id, tags FROM models").all()
        for row in rows {
            let id = try row.decode(column: "id", as: String.self)
            let json = try row.decode(column: "tags", as: String.self)
            let tags = (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
            for tag in Set(tags) {
                try await db.raw("INSERT INTO model_tags (tag, model_id) VALUES (\(bind: tag), \(bind: id))").run()
            }
        }
    }
}
