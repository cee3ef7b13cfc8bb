import Foundation
import Logging
import SQLKit
import Synchronization
import Testing
import VesselCore
@testable import VesselMetadata

/// The searches and metadata updates of issue 27 on every backend in
/// `MetadataHarness.backends`: every model filter and sort order, every version filter, keyset
/// pages that neither skip nor repeat while versions are added, grants, and the audited,
/// evented updates.
@Suite struct SearchConformanceTests {
    final class Clock: Sendable {
        let now = Mutex<Int64>(1_000_000)
        func set(_ value: Int64) { now.withLock { $0 = value } }
        func advance() -> Int64 { now.withLock { $0 += 1_000_000; return $0 } }
        func read() -> Int64 { now.withLock { $0 } }
    }

    func withClockedStore(_ backend: String, _ body: (SQLMetadataStore, any SQLBackend, Clock) async throws -> Void) async throws {
        try await MetadataHarness.withStore(backend) { _, sql in
            let clock = Clock()
            try await body(SQLMetadataStore(backend: sql, clock: { clock.read() }), sql, clock)
        }
    }

    static func model(_ text: String) -> ModelName { try! ModelName(text) }

    /// Every page of a models query, `limit` at a time, checking no model comes twice.
    static func allModels(_ store: SQLMetadataStore, _ query: ModelQuery, readable: [Scope] = [.registry], limit: Int = 2) async throws -> [String] {
        var names: [String] = []
        var cursor: String?
        repeat {
            let page = try await store.listModels(readable: readable, query: query, limit: limit, cursor: cursor)
            #expect(page.items.count <= limit)
            names += page.items.map(\.model.description)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(Set(names).count == names.count, "a model repeated across pages: \(names)")
        return names
    }

    /// Commits a version of `model` created by `actor` with `parameters` of `dtype` at the clock's next second.
    @discardableResult
    static func commit(_ store: SQLMetadataStore, _ clock: Clock, _ model: ModelName, file: UInt8, actor: String = "admin",
                       parameters: UInt64? = nil, dtype: String = "BF16", findings: [Finding] = []) async throws -> VersionInfo {
        _ = clock.advance()
        let manifest = try MetadataHarness.manifest([("w.safetensors", file)])
        try await store.recordBlob(MetadataHarness.digest(file), size: 10)
        let change = ChangeContext(actor: actor, requestID: "r")
        let draft = try await store.createDraft(model: model, manifest: manifest, digest: MetadataHarness.digest(99), description: "", change: change)
        let summary = parameters.map {
            ModelSummary(parameters: $0, tensorCount: 1, dtypes: [dtype: .init(parameters: $0, bytes: $0 * 2)], tensorBytes: $0 * 2, shardCount: 1, metadata: nil)
        }
        return try await store.commitDraft(model: model, draftID: draft, findings: findings, analysis: VersionAnalysis(summary: summary), change: change)
    }

    @Test(arguments: MetadataHarness.backends)
    func modelsMatchTextOwnerAndEveryTag(_ backend: String) async throws {
        try await withClockedStore(backend) { store, _, clock in
            let specs: [(String, String, [String])] = [
                ("acme/bert-base", "An encoder", ["nlp", "encoder"]),
                ("acme/vit", "Vision transformer like BERT", ["vision"]),
                ("beta/gpt", "decoder 100%_sure", ["nlp"]),
                ("beta/resnet", "", []),
            ]
            for (name, description, tags) in specs {
                _ = clock.advance()
                _ = try await store.createModel(Self.model(name), description: description, tags: tags, change: MetadataHarness.admin)
            }
            #expect(try await Self.allModels(store, ModelQuery(search: "BERT")) == ["acme/bert-base", "acme/vit"])
            #expect(try await Self.allModels(store, ModelQuery(search: "a/g")) == ["beta/gpt"])
            // % and _ are literal characters, not patterns.
            #expect(try await Self.allModels(store, ModelQuery(search: "0%_s")) == ["beta/gpt"])
            #expect(try await Self.allModels(store, ModelQuery(search: "%")) == ["beta/gpt"])
            #expect(try await Self.allModels(store, ModelQuery(search: "_")) == ["beta/gpt"])
            #expect(try await Self.allModels(store, ModelQuery(owner: "beta")) == ["beta/gpt", "beta/resnet"])
            #expect(try await Self.allModels(store, ModelQuery(tags: ["nlp"])) == ["acme/bert-base", "beta/gpt"])
            #expect(try await Self.allModels(store, ModelQuery(tags: ["nlp", "encoder"])) == ["acme/bert-base"])
            #expect(try await Self.allModels(store, ModelQuery(tags: ["NLP"])).isEmpty, "tags match exactly")
            #expect(try await Self.allModels(store, ModelQuery(search: "e", owner: "acme", tags: ["vision"])) == ["acme/vit"])
            #expect(try await Self.allModels(store, ModelQuery(search: "nothing-like-this")).isEmpty)
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func modelsSortByNameCreatedAndUpdatedAcrossPages(_ backend: String) async throws {
        try await withClockedStore(backend) { store, _, clock in
            // Created in this order; a and a.b share an owner prefix, and two share a creation time.
            let created = ["b/z", "a/m", "a.b/x", "c/a", "a/a"]
            for (index, name) in created.enumerated() {
                if index != 4 { _ = clock.advance() }
                _ = try await store.createModel(Self.model(name), description: "", tags: [], change: MetadataHarness.admin)
            }
            #expect(try await Self.allModels(store, ModelQuery(sort: .name)) == ["a/a", "a/m", "a.b/x", "b/z", "c/a"])
            // Newest first; c/a and a/a were created in the same microsecond: the name, descending, breaks the tie.
            #expect(try await Self.allModels(store, ModelQuery(sort: .created)) == ["c/a", "a/a", "a.b/x", "a/m", "b/z"])
            #expect(try await Self.allModels(store, ModelQuery(sort: .created), limit: 1) == ["c/a", "a/a", "a.b/x", "a/m", "b/z"])
            // A commit and a model update move a model to the front of `updated`.
            try await Self.commit(store, clock, Self.model("b/z"), file: 1)
            _ = clock.advance()
            _ = try await store.updateModel(Self.model("a/m"), update: UpdateModelRequest(description: "new"), change: MetadataHarness.admin)
            #expect(try await Self.allModels(store, ModelQuery(sort: .updated)) == ["a/m", "b/z", "c/a", "a/a", "a.b/x"])
            let models = try await store.listModels(readable: [.registry], query: ModelQuery(sort: .updated), limit: 10, cursor: nil).items
            #expect(models.first?.updatedAt == Timestamp.rfc3339(micros: clock.read()))
            // A cursor belongs to its sort order.
            let page = try await store.listModels(readable: [.registry], query: ModelQuery(sort: .created), limit: 1, cursor: nil)
            let cursor = try #require(page.nextCursor)
            await expectCode(.invalidArgument) { _ = try await store.listModels(readable: [.registry], query: ModelQuery(sort: .name), limit: 1, cursor: cursor) }
            await expectCode(.invalidArgument) { _ = try await store.listModels(readable: [.registry], query: ModelQuery(), limit: 1, cursor: "forged") }
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func searchesShowOnlyWhatGrantsCover(_ backend: String) async throws {
        try await withClockedStore(backend) { store, _, clock in
            for name in ["acme/a", "acme/b", "beta/c", "gamma/d"] { try await Self.commit(store, clock, Self.model(name), file: 1) }
            let readable: [Scope] = [.owner("acme"), .model(Self.model("gamma/d"))]
            #expect(try await Self.allModels(store, ModelQuery(), readable: readable) == ["acme/a", "acme/b", "gamma/d"])
            #expect(try await Self.allModels(store, ModelQuery(sort: .created), readable: readable) == ["gamma/d", "acme/b", "acme/a"])
            #expect(try await Self.allModels(store, ModelQuery(), readable: []).isEmpty)
            let versions = try await store.searchVersions(readable: readable, search: VersionSearch(), limit: 100, cursor: nil)
            #expect(versions.items.map(\.model.description) == ["gamma/d", "acme/b", "acme/a"])
            let byDigest = try await store.searchVersions(readable: readable, search: VersionSearch(filter: VersionFilter(digest: MetadataHarness.digest(1))), limit: 100, cursor: nil)
            #expect(byDigest.items.count == 3, "beta/c holds the blob too, but is not readable")
            #expect(try await store.searchVersions(readable: [], search: VersionSearch(), limit: 100, cursor: nil).items.isEmpty)
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func versionsFilterByEveryField(_ backend: String) async throws {
        try await withClockedStore(backend) { store, sql, clock in
            let model = Self.model("acme/m")
            try await Self.commit(store, clock, model, file: 1, actor: "alice", parameters: 100, dtype: "F32")           // 1 ready
            try await Self.commit(store, clock, model, file: 2, actor: "bob", parameters: 7_000, dtype: "BF16")          // 2 ready, aliased
            let t3 = clock.read() + 1_000_000
            try await Self.commit(store, clock, model, file: 3, actor: "alice", findings: [Finding(validator: "scan", code: "unsafe", message: "x")]) // 3 quarantined
            try await Self.commit(store, clock, model, file: 4, actor: "bob", parameters: 50_000, dtype: "BF16")         // 4 archived, signed
            try await Self.commit(store, clock, model, file: 5, actor: "bob")                                             // 5 deleted
            _ = try await store.changeState(model: model, version: 4, to: .archived, change: MetadataHarness.admin)
            _ = try await store.changeState(model: model, version: 5, to: .deleted, change: MetadataHarness.admin)
            let moved = try await MetadataHarness.setAlias(store, model, "champion", 2)
            #expect(moved.status == .applied, "\(moved.failures)")
            try await sql.transaction { db in
                try await db.raw("""
                    INSERT INTO signatures (id, version_id, key_hint, status, key_name, bundle, signed_at, signed_by)
                    SELECT 'sig1', id, 'hint', 'unverified', NULL, '{}', 1, 'alice' FROM versions WHERE number = 4
                    """).run()
            }
            func numbers(_ filter: VersionFilter) async throws -> [Int] {
                var all: [Int] = []
                var cursor: String?
                repeat {
                    let page = try await store.listVersions(model: model, filter: filter, limit: 1, cursor: cursor)
                    all += page.items.map(\.version)
                    cursor = page.nextCursor
                } while cursor != nil
                let across = try await store.searchVersions(readable: [.registry], search: VersionSearch(filter: filter), limit: 100, cursor: nil)
                #expect(across.items.map(\.version) == all, "the search across models agrees with the model's list")
                return all
            }
            #expect(try await numbers(VersionFilter()) == [4, 3, 2, 1])
            #expect(try await numbers(VersionFilter(states: [.ready])) == [2, 1])
            #expect(try await numbers(VersionFilter(states: [.quarantined, .archived])) == [4, 3])
            #expect(try await numbers(VersionFilter(aliased: true)) == [2])
            #expect(try await numbers(VersionFilter(aliased: false)) == [4, 3, 1])
            #expect(try await numbers(VersionFilter(since: t3)) == [4, 3])
            #expect(try await numbers(VersionFilter(until: t3)) == [2, 1])
            #expect(try await numbers(VersionFilter(since: t3, until: t3 + 1)) == [3])
            #expect(try await numbers(VersionFilter(creator: "alice")) == [3, 1])
            #expect(try await numbers(VersionFilter(signed: true)) == [4])
            #expect(try await numbers(VersionFilter(signed: false)) == [3, 2, 1])
            #expect(try await numbers(VersionFilter(minParameters: 7_000)) == [4, 2])
            #expect(try await numbers(VersionFilter(maxParameters: 7_000)) == [2, 1])
            #expect(try await numbers(VersionFilter(dtype: "BF16")) == [4, 2])
            #expect(try await numbers(VersionFilter(digest: MetadataHarness.digest(2))) == [2])
            #expect(try await numbers(VersionFilter(digest: MetadataHarness.digest(5))).isEmpty, "deleted versions are never listed")
            #expect(try await numbers(VersionFilter(states: [.ready], creator: "bob", signed: false)) == [2])
            let listed = try await store.listVersions(model: model, filter: VersionFilter(aliased: true), limit: 10, cursor: nil).items
            #expect(listed.first?.aliases == ["champion"])
            // The search across models: by model text.
            try await Self.commit(store, clock, Self.model("other/bert"), file: 2)
            let bert = try await store.searchVersions(readable: [.registry], search: VersionSearch(modelSearch: "BER", filter: VersionFilter(digest: MetadataHarness.digest(2))), limit: 100, cursor: nil)
            #expect(bert.items.map { "\($0.model):\($0.version)" } == ["other/bert:1"])
            await expectCode(.invalidArgument) { _ = try await store.listVersions(model: model, filter: VersionFilter(), limit: 1, cursor: "forged") }
            await expectCode(.notFound) { _ = try await store.listVersions(model: Self.model("acme/none"), filter: VersionFilter(), limit: 1, cursor: nil) }
        }
    }

    /// Keyset pages: versions committed between pages appear before the cursor (newest first),
    /// so every version present at the start is listed exactly once.
    @Test(arguments: MetadataHarness.backends)
    func pagesNeitherSkipNorRepeatWhileVersionsAreAdded(_ backend: String) async throws {
        try await withClockedStore(backend) { store, _, clock in
            let model = Self.model("acme/m")
            for file in 1...9 { try await Self.commit(store, clock, model, file: UInt8(file)) }
            try await Self.commit(store, clock, Self.model("acme/n"), file: 1)
            var listed: [Int] = []
            var across: [String] = []
            var cursor: String?
            var searchCursor: String?
            var added = 0
            var listing = true
            var searching = true
            repeat {
                if listing {
                    let page = try await store.listVersions(model: model, filter: VersionFilter(), limit: 2, cursor: cursor)
                    listed += page.items.map(\.version)
                    cursor = page.nextCursor
                    listing = cursor != nil
                }
                if searching {
                    let searched = try await store.searchVersions(readable: [.registry], search: VersionSearch(), limit: 3, cursor: searchCursor)
                    across += searched.items.map { "\($0.model):\($0.version)" }
                    searchCursor = searched.nextCursor
                    searching = searchCursor != nil
                }
                added += 1
                try await Self.commit(store, clock, model, file: UInt8(20 + added))
            } while (listing || searching) && added < 50
            #expect(listed == Array((1...9).reversed()))
            #expect(across == ["acme/n:1"] + (1...9).reversed().map { "acme/m:\($0)" })
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func modelAndVersionUpdatesAreAuditedAndEvented(_ backend: String) async throws {
        try await withClockedStore(backend) { store, sql, clock in
            let model = Self.model("acme/m")
            _ = try await store.createModel(model, description: "old", tags: ["a", "b", "a"], change: MetadataHarness.admin)
            #expect(try await Self.allModels(store, ModelQuery(tags: ["a"])) == ["acme/m"])
            let updated = try await store.updateModel(model, update: UpdateModelRequest(description: "new", addTags: ["c", "a"], removeTags: ["b"]), change: MetadataHarness.admin)
            #expect(updated.description == "new" && updated.tags == ["a", "c"])
            #expect(try await Self.allModels(store, ModelQuery(tags: ["b"])).isEmpty)
            #expect(try await Self.allModels(store, ModelQuery(tags: ["c"])) == ["acme/m"])
            // Nothing changes: nothing is written.
            _ = try await store.updateModel(model, update: UpdateModelRequest(addTags: ["a"]), change: MetadataHarness.admin)
            try await Self.commit(store, clock, model, file: 1)
            let version = try await store.updateVersion(model: model, version: 1, description: "tuned", change: MetadataHarness.admin)
            #expect(version.description == "tuned")
            _ = try await store.updateVersion(model: model, version: 1, description: "tuned", change: MetadataHarness.admin)
            let audit = try await store.auditEntries(model: model, limit: 100, cursor: nil).items
            #expect(audit.filter { $0.action == "model.update" }.count == 1)
            #expect(audit.filter { $0.action == "version.update" }.map { "\($0.before ?? "") -> \($0.after ?? "")" } == [" -> tuned"])
            let modelUpdate = try #require(audit.first { $0.action == "model.update" })
            #expect(modelUpdate.before == #"{"description":"old","tags":["a","b"]}"# || modelUpdate.before?.contains("\"b\"") == true)
            let events = try await sql.read { db in
                try await db.raw("SELECT type, payload FROM events ORDER BY seq").all().map {
                    (try $0.decode(column: "type", as: String.self), try $0.decode(column: "payload", as: String.self))
                }
            }
            #expect(events.filter { $0.0 == "model.updated" }.count == 1)
            #expect(events.filter { $0.0 == "version.updated" }.count == 1)
            let payload = try #require(events.first { $0.0 == "model.updated" }?.1)
            #expect(payload.contains("\"added_tags\":\"c\"") && payload.contains("\"removed_tags\":\"b\""))
            await expectCode(.notFound) { _ = try await store.updateModel(Self.model("acme/none"), update: UpdateModelRequest(description: "x"), change: MetadataHarness.admin) }
            _ = try await store.changeState(model: model, version: 1, to: .deleted, change: MetadataHarness.admin)
            await expectCode(.notFound) { _ = try await store.updateVersion(model: model, version: 1, description: "x", change: MetadataHarness.admin) }
            let tooMany = (0..<Limits.tagsPerModel).map { "t\($0)" }
            await expectCode(.invalidArgument) { _ = try await store.updateModel(model, update: UpdateModelRequest(addTags: tooMany), change: MetadataHarness.admin) }
        }
    }

    /// Migration 16 copies the JSON tags of models written before it into `model_tags` and
    /// starts `updated_at` at the creation time.
    @Test func migrationSixteenBackfillsTagsAndUpdatedAt() async throws {
        let logger = Logger(label: "test")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-meta-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sql = try await SQLiteBackend.open(path: "\(dir)/metadata.sqlite", logger: logger)
        try await MetadataHarness.closing([sql]) {
            try await sql.withMigrationLock { db in try await Migrations.apply(Array(Migrations.steps.prefix(15)), to: db, logger: logger) }
            try await sql.transaction { db in
                try await db.raw("""
                    INSERT INTO models (id, owner, name, description, tags, created_at, created_by, version_seq)
                    VALUES ('m1', 'acme', 'old', '', '["x","y","x"]', 5, 'dev', 0)
                    """).run()
            }
            try await Migrations.run(on: sql, logger: logger)
            let store = SQLMetadataStore(backend: sql)
            #expect(try await Self.allModels(store, ModelQuery(tags: ["x", "y"])) == ["acme/old"])
            let info = try await store.model(Self.model("acme/old"))
            #expect(info.updatedAt == Timestamp.rfc3339(micros: 5))
        }
    }
}
