import SQLKit
import VesselCore

/// The searches of issue 27 (docs/search.md): models by text, owner and tags in three sort
/// orders, a model's versions and versions across models by state, time, creator, aliases,
/// signatures, size and blob digest. Every page is keyset-paged on an index of migration 16
/// (`Migrations+Search.swift`), never with OFFSET, and the grants filter is part of the query.
extension SQLMetadataStore {
    public func listModels(readable: [Scope], query: ModelQuery, limit: Int, cursor: String?) async throws -> Page<ModelInfo> {
        let limit = PageCursor.clamp(limit)
        let cursors = try await pageCursor()
        // `models` for the name order keeps the cursors issued before sorting existed working.
        let list = query.sort == .name ? "models" : "models sort=\(query.sort.rawValue)"
        let after = try cursor.map { cursor throws(VesselError) in try ModelKey(try cursors.decode(cursor, list: list), sort: query.sort) }
        guard let readable = Self.readableClause(readable) else { return Page(items: [], nextCursor: nil) }
        var conditions: [SQLQueryString] = [readable]
        if let owner = query.owner { conditions.append("m.owner = \(bind: owner)") }
        if let search = query.search { conditions.append(Self.textMatch(search, "LOWER(m.owner || '/' || m.name)", "LOWER(m.description)")) }
        for tag in query.tags { conditions.append("m.id IN (SELECT t.model_id FROM model_tags t WHERE t.tag = \(bind: tag))") }
        let order: SQLQueryString
        switch query.sort {
        case .name:
            if let after { conditions.append("(m.owner, m.name) > (\(bind: after.owner), \(bind: after.name))") }
            order = "ORDER BY m.owner, m.name"
        case .created:
            if let after { conditions.append("(m.created_at, m.owner, m.name) < (\(bind: after.time), \(bind: after.owner), \(bind: after.name))") }
            order = "ORDER BY m.created_at DESC, m.owner DESC, m.name DESC"
        case .updated:
            if let after { conditions.append("(m.updated_at, m.owner, m.name) < (\(bind: after.time), \(bind: after.owner), \(bind: after.name))") }
            order = "ORDER BY m.updated_at DESC, m.owner DESC, m.name DESC"
        }
        let condition = Self.joined(conditions)
        let rows = try await backend.read { db in
            try await db.raw("""
                \(unsafeRaw: Self.modelQuery) WHERE \(condition) \(order) LIMIT \(bind: limit + 1)
                """).all()
        }
        let page = Array(rows.prefix(limit))
        let items = try page.map(Self.modelInfo)
        var next: String?
        if rows.count > limit, let last = page.last {
            let name = try "\(last.decode(column: "owner", as: String.self))/\(last.decode(column: "name", as: String.self))"
            switch query.sort {
            case .name: next = cursors.encode(name, list: list)
            case .created: next = cursors.encode("\(try last.decode(column: "created_at", as: Int64.self)) \(name)", list: list)
            case .updated: next = cursors.encode("\(try last.decode(column: "updated_at", as: Int64.self)) \(name)", list: list)
            }
        }
        return Page(items: items, nextCursor: next)
    }

    public func listVersions(model: ModelName, filter: VersionFilter, limit: Int, cursor: String?) async throws -> Page<VersionInfo> {
        let limit = PageCursor.clamp(limit)
        let cursors = try await pageCursor()
        let list = "versions \(model)"
        let before = try cursor.map { cursor throws(VesselError) -> Int in
            guard let number = Int(try cursors.decode(cursor, list: list)) else { throw .invalidArgument("the paging cursor is not one this server issued") }
            return number
        } ?? Int.max
        return try await backend.read { db in
            let modelID = try await self.modelID(db, model)
            let conditions = ["v.model_id = \(bind: modelID)", "v.number < \(bind: before)"] + Self.versionConditions(filter)
            let rows = try await db.raw("""
                \(unsafeRaw: Self.versionSearchQuery) WHERE \(Self.joined(conditions)) ORDER BY v.number DESC LIMIT \(bind: limit + 1)
                """).all()
            let items = try await self.versionPage(db, Array(rows.prefix(limit)))
            let next = rows.count > limit ? items.last.map { cursors.encode(String($0.version), list: list) } : nil
            return Page(items: items, nextCursor: next)
        }
    }

    public func searchVersions(readable: [Scope], search: VersionSearch, limit: Int, cursor: String?) async throws -> Page<VersionInfo> {
        let limit = PageCursor.clamp(limit)
        let cursors = try await pageCursor()
        let list = "versions search"
        let after = try cursor.map { cursor throws(VesselError) -> (time: Int64, id: String) in
            let key = try cursors.decode(cursor, list: list)
            let parts = key.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let time = Int64(parts[0]) else { throw .invalidArgument("the paging cursor is not one this server issued") }
            return (time, String(parts[1]))
        }
        guard let readable = Self.readableClause(readable) else { return Page(items: [], nextCursor: nil) }
        var conditions = [readable] + Self.versionConditions(search.filter)
        if let text = search.modelSearch { conditions.append(Self.textMatch(text, "LOWER(m.owner || '/' || m.name)", "LOWER(m.description)")) }
        if let after { conditions.append("(v.created_at, v.id) < (\(bind: after.time), \(bind: after.id))") }
        let condition = Self.joined(conditions)
        return try await backend.read { db in
            let rows = try await db.raw("""
                \(unsafeRaw: Self.versionSearchQuery) WHERE \(condition) ORDER BY v.created_at DESC, v.id DESC LIMIT \(bind: limit + 1)
                """).all()
            let page = Array(rows.prefix(limit))
            let items = try await self.versionPage(db, page)
            var next: String?
            if rows.count > limit, let last = page.last {
                next = cursors.encode("\(try last.decode(column: "created_at", as: Int64.self)) \(try last.decode(column: "id", as: String.self))", list: list)
            }
            return Page(items: items, nextCursor: next)
        }
    }

    /// A version row with its model's name; the model is joined so a search can filter on it.
    static let versionSearchQuery = """
        SELECT v.id, v.number, v.state, v.digest, v.manifest_digest, v.file_count, v.total_size, v.description, v.findings, v.created_at, v.created_by,
          v.summary, m.owner AS model_owner, m.name AS model_name
        FROM versions v JOIN models m ON m.id = v.model_id
        """

    /// The conditions of `filter` on `versions v`; committed versions only, never deleted ones.
    static func versionConditions(_ filter: VersionFilter) -> [SQLQueryString] {
        let states = (filter.states.isEmpty ? VersionFilter.listableStates : filter.states).map { $0.rawValue as any Encodable & Sendable }
        // `v.state || ''`: the state is a filter, never the index to walk. Given `versions_state`,
        // SQLite's planner walked it and sorted every matching row instead of following the
        // order's index (`versions_created`, `(model_id, number)`), which a page at 1M versions cannot afford.
        var conditions: [SQLQueryString] = ["v.number IS NOT NULL", "(v.state || '') IN (\(binds: states))"]
        if let min = filter.minParameters { conditions.append("v.parameters >= \(bind: Int64(clamping: min))") }
        if let max = filter.maxParameters { conditions.append("v.parameters <= \(bind: Int64(clamping: max))") }
        if let dtype = filter.dtype { conditions.append("v.dtypes LIKE \(bind: "%," + dtype + ",%")") }
        if let since = filter.since { conditions.append("v.created_at >= \(bind: since)") }
        if let until = filter.until { conditions.append("v.created_at < \(bind: until)") }
        if let creator = filter.creator { conditions.append("v.created_by = \(bind: creator)") }
        if let aliased = filter.aliased {
            conditions.append("\(unsafeRaw: aliased ? "" : "NOT ")EXISTS (SELECT 1 FROM aliases a WHERE a.version_id = v.id)")
        }
        if let signed = filter.signed {
            conditions.append("\(unsafeRaw: signed ? "" : "NOT ")EXISTS (SELECT 1 FROM signatures s WHERE s.version_id = v.id)")
        }
        if let digest = filter.digest { conditions.append("v.id IN (SELECT f.version_id FROM version_files f WHERE f.digest = \(bind: digest.description))") }
        return conditions
    }

    /// `text` as a case-insensitive substring of either column expression, `%` and `_` taken literally.
    static func textMatch(_ text: String, _ first: String, _ second: String) -> SQLQueryString {
        var escaped = ""
        for character in text.lowercased() {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        let pattern = "%" + escaped + "%"
        return "(\(unsafeRaw: first) LIKE \(bind: pattern) ESCAPE '\\' OR \(unsafeRaw: second) LIKE \(bind: pattern) ESCAPE '\\')"
    }

    static func joined(_ conditions: [SQLQueryString]) -> SQLQueryString {
        conditions.dropFirst().reduce(conditions.first ?? "1 = 1") { $0 + " AND " + $1 }
    }

    /// Rows of `versionSearchQuery` as versions, their aliases read in one query for the page.
    func versionPage(_ db: any SQLDatabase, _ rows: [any SQLRow]) async throws -> [VersionInfo] {
        let ids = try rows.map { try $0.decode(column: "id", as: String.self) }
        var aliases: [String: [String]] = [:]
        if !ids.isEmpty {
            for row in try await db.raw("SELECT version_id, name FROM aliases WHERE version_id IN (\(binds: ids)) ORDER BY name").all() {
                aliases[try row.decode(column: "version_id", as: String.self), default: []].append(try row.decode(column: "name", as: String.self))
            }
        }
        return try zip(rows, ids).map { row, id in
            let model = try ModelName(owner: try row.decode(column: "model_owner", as: String.self), name: try row.decode(column: "model_name", as: String.self))
            return try Self.versionInfo(row, model: model, aliases: aliases[id] ?? [])
        }
    }

    /// A version row (`versionQuery` or `versionSearchQuery` columns) as the API shows it in lists.
    static func versionInfo(_ row: any SQLRow, model: ModelName, aliases: [String]) throws -> VersionInfo {
        VersionInfo(
            model: model,
            version: try row.decode(column: "number", as: Int.self),
            digest: try Digest(try row.decode(column: "digest", as: String.self)),
            manifestDigest: try Digest(try row.decode(column: "manifest_digest", as: String.self)),
            state: VersionState(rawValue: try row.decode(column: "state", as: String.self)) ?? .pending,
            files: try row.decode(column: "file_count", as: Int.self),
            size: UInt64(try row.decode(column: "total_size", as: Int64.self)),
            description: try row.decode(column: "description", as: String.self),
            createdAt: Timestamp.rfc3339(micros: try row.decode(column: "created_at", as: Int64.self)),
            createdBy: try row.decode(column: "created_by", as: String.self),
            aliases: aliases,
            findings: try Self.decodeJSON([Finding].self, try row.decode(column: "findings", as: String.self)),
            manifest: nil,
            summary: try row.decode(column: "summary", as: String?.self).map { try Self.decodeJSON(ModelSummary.self, $0) }
        )
    }
}

/// Where a models page ended: the model and, in the time orders, its time.
struct ModelKey {
    var time: Int64
    var owner: String
    var name: String

    init(_ key: String, sort: ModelSort) throws(VesselError) {
        var rest = Substring(key)
        time = 0
        if sort != .name {
            let parts = rest.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let time = Int64(parts[0]) else { throw .invalidArgument("the paging cursor is not one this server issued") }
            self.time = time
            rest = parts[1]
        }
        let parts = rest.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { throw .invalidArgument("the paging cursor is not one this server issued") }
        owner = String(parts[0])
        name = String(parts[1])
    }
}
