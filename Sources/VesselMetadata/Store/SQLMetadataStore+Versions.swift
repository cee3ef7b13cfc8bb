import SQLKit
import VesselCore

extension SQLMetadataStore: VersionStore {
    public func createDraft(model: ModelName, manifest: Manifest, digest: Digest, description: String, change: ChangeContext) async throws -> String {
        let now = clock()
        let draftID = makeID()
        let newModelID = makeID()
        try await write { db in
            let modelID: String
            if let row = try await db.raw("SELECT id FROM models WHERE owner = \(bind: model.owner) AND name = \(bind: model.name)").first() {
                modelID = try row.decode(column: "id", as: String.self)
            } else {
                try await self.insertModel(db, id: newModelID, name: model, description: "", tagsJSON: "[]", now: now, change: change)
                modelID = newModelID
            }
            try await db.raw("""
                INSERT INTO versions (id, model_id, number, state, digest, manifest_digest, file_count, total_size, description, findings, created_at, created_by, committed_at)
                VALUES (\(bind: draftID), \(bind: modelID), NULL, 'pending', \(bind: digest.description), \(bind: manifest.manifestDigest.description), \(bind: manifest.entries.count),
                  \(bind: Int64(clamping: manifest.totalSize)), \(bind: description), '[]', \(bind: now), \(bind: change.actor), NULL)
                """).run()
            for chunk in manifest.entries.batches(of: 200) {
                let rows = chunk.map { entry -> SQLExpression in
                    SQLGroupExpression([SQLBind(draftID), SQLBind(entry.path), SQLBind(Int64(clamping: entry.size)), SQLBind(entry.digest.description), SQLBind(entry.mediaType)])
                }
                try await db.raw("INSERT INTO version_files (version_id, path, size, digest, media_type) VALUES \(SQLList(rows))").run()
            }
            try await self.nameBlobs(db, manifest.entries.map(\.digest.description), at: now)
        }
        return draftID
    }

    /// The manifest of a draft, pending or already committed: committing again is a retry that
    /// `commitDraft` answers with the version it made (a deleted one is a conflict).
    public func draftManifest(model: ModelName, draftID: String) async throws -> Manifest {
        try await backend.read { db in
            let modelID = try await self.modelID(db, model)
            guard let row = try await db.raw("SELECT state, number FROM versions WHERE id = \(bind: draftID) AND model_id = \(bind: modelID)").first() else {
                throw VesselError.notFound("draft '\(draftID)' of model '\(model)' does not exist")
            }
            try Self.requireCommittable(row, draftID: draftID, model: model)
            return try Manifest(entries: try await self.files(db, versionID: draftID))
        }
    }

    public func committedDraft(model: ModelName, draftID: String) async throws -> VersionInfo? {
        let number = try await backend.read { db -> Int? in
            let modelID = try await self.modelID(db, model)
            guard let row = try await db.raw("SELECT state, number FROM versions WHERE id = \(bind: draftID) AND model_id = \(bind: modelID)").first() else {
                throw VesselError.notFound("draft '\(draftID)' of model '\(model)' does not exist")
            }
            try Self.requireCommittable(row, draftID: draftID, model: model)
            return try row.decode(column: "number", as: Int?.self)
        }
        guard let number else { return nil }
        return try await resolve(Reference(model: model, selector: .version(number)))
    }

    public func draftToCommit(model: ModelName, draftID: String) async throws -> DraftToCommit {
        let found = try await backend.read { db -> DraftToCommit? in
            let modelID = try await self.modelID(db, model)
            guard let row = try await db.raw("SELECT state, number FROM versions WHERE id = \(bind: draftID) AND model_id = \(bind: modelID)").first() else {
                throw VesselError.notFound("draft '\(draftID)' of model '\(model)' does not exist")
            }
            try Self.requireCommittable(row, draftID: draftID, model: model)
            guard try row.decode(column: "number", as: Int?.self) == nil else { return nil }
            return .pending(try Manifest(entries: try await self.files(db, versionID: draftID)))
        }
        if let found { return found }
        // Committed: the version it became, read as any version is.
        guard let committed = try await committedDraft(model: model, draftID: draftID) else {
            throw VesselError.internalError("draft '\(draftID)' of model '\(model)' has a number but no version")
        }
        return .committed(committed)
    }

    /// Refuses a draft that was committed as a version since deleted; a pending draft and one
    /// committed as a live version pass.
    private static func requireCommittable(_ row: any SQLRow, draftID: String, model: ModelName) throws {
        guard try row.decode(column: "state", as: String.self) == VersionState.deleted.rawValue else { return }
        let number = try row.decode(column: "number", as: Int?.self)
        if number == nil {
            throw VesselError.conflict("draft '\(draftID)' of model '\(model)' expired under the retention policy; push again")
        }
        throw VesselError.conflict("draft '\(draftID)' was committed as version \(model):\(number.map(String.init) ?? "?"), which has since been deleted; push again")
    }

    /// Numbers the draft and makes it `ready` or `quarantined`. Idempotent: a draft already
    /// committed answers with the version it became (nothing is written again), so a client
    /// that lost the first answer may simply commit again.
    public func commitDraft(model: ModelName, draftID: String, findings: [Finding], analysis: VersionAnalysis, change: ChangeContext) async throws -> VersionInfo {
        let now = clock()
        let state: VersionState = findings.isEmpty ? .ready : .quarantined
        let findingsJSON = try Self.encodeJSON(findings)
        let summaryJSON = try analysis.summary.map(Self.encodeJSON)
        let scanJSON = try analysis.scan.map(Self.encodeJSON)
        let parameters = analysis.summary.map { Int64(clamping: $0.parameters) }
        let dtypes = analysis.summary.map { "," + $0.dtypes.keys.sorted().joined(separator: ",") + "," }
        let number = try await write { db -> Int in
            // The model row's lock first, held until commit: numbers never collide or skip, and
            // a second commit of this draft racing this one reads its state only after it.
            let modelID = try await self.lockModel(db, model)
            guard let row = try await db.raw("SELECT state, number, digest FROM versions WHERE id = \(bind: draftID) AND model_id = \(bind: modelID)").first() else {
                throw VesselError.notFound("draft '\(draftID)' of model '\(model)' does not exist")
            }
            try Self.requireCommittable(row, draftID: draftID, model: model)
            if try row.decode(column: "state", as: String.self) != VersionState.pending.rawValue {
                guard let number = try row.decode(column: "number", as: Int?.self) else {
                    throw VesselError.internalError("draft '\(draftID)' left pending without a version number")
                }
                return number
            }
            let digest = try row.decode(column: "digest", as: String.self)
            guard let seqRow = try await db.raw("UPDATE models SET version_seq = version_seq + 1, updated_at = \(bind: now) WHERE id = \(bind: modelID) RETURNING version_seq").first() else {
                throw VesselError.notFound("model '\(model)' does not exist")
            }
            let number = try seqRow.decode(column: "version_seq", as: Int.self)
            let named = try await db.raw("SELECT digest FROM version_files WHERE version_id = \(bind: draftID)").all().map { try $0.decode(column: "digest", as: String.self) }
            try await self.nameBlobs(db, named, at: now)
            try await db.raw("""
                UPDATE versions SET number = \(bind: number), state = \(bind: state.rawValue), findings = \(bind: findingsJSON), committed_at = \(bind: now),
                  summary = \(bind: summaryJSON), scan_report = \(bind: scanJSON), parameters = \(bind: parameters), dtypes = \(bind: dtypes)
                WHERE id = \(bind: draftID)
                """).run()
            try await self.audit(db, change, at: now, action: "version.create", target: "version/\(model):\(number)", model: model, after: "\(state.rawValue) \(digest)")
            let payload = ["model": model.description, "version": String(number), "digest": digest, "actor": change.actor]
            var created = payload
            if let run = try await self.linkedRun(db, versionID: draftID) { created["run"] = run }
            // Both events with one update of the outbox head (a registry-wide row).
            try await Outbox.append(db, [(self.makeID(), .versionCreated, created), (self.makeID(), state == .ready ? .versionReady : .versionQuarantined, payload)],
                                    at: now, model: model.description)
            return number
        }
        return try await resolve(Reference(model: model, selector: .version(number)))
    }

    public func resolve(_ reference: Reference) async throws -> VersionInfo {
        try await backend.read { db in
            let modelID = try await self.modelID(db, reference.model)
            let row: (any SQLRow)?
            switch reference.selector {
            case .latest:
                row = try await db.raw("""
                    \(unsafeRaw: Self.versionQuery) WHERE v.model_id = \(bind: modelID) AND v.state = 'ready' ORDER BY v.number DESC LIMIT 1
                    """).first()
                guard row != nil else { throw VesselError.notFound("model '\(reference.model)' has no ready version") }
            case .version(let number):
                row = try await db.raw("""
                    \(unsafeRaw: Self.versionQuery) WHERE v.model_id = \(bind: modelID) AND v.number = \(bind: number) AND v.state <> 'deleted'
                    """).first()
                guard row != nil else { throw VesselError.notFound("version \(reference.model):\(number) does not exist") }
            case .alias(let alias):
                row = try await db.raw("""
                    \(unsafeRaw: Self.versionQuery) JOIN aliases a ON a.version_id = v.id
                    WHERE a.model_id = \(bind: modelID) AND a.name = \(bind: alias.value)
                    """).first()
                guard row != nil else { throw VesselError.notFound("alias '\(alias)' of model '\(reference.model)' does not exist") }
            }
            guard let row else { throw VesselError.notFound("\(reference) does not exist") }
            let id = try row.decode(column: "id", as: String.self)
            var info = try await self.versionInfo(db, row, model: reference.model)
            info.manifest = try await self.files(db, versionID: id)
            info.scan = try row.decode(column: "scan_report", as: String?.self).map { try Self.decodeJSON([FileScanReport].self, $0) }
            return info
        }
    }

    // listVersions and the search across models are in SQLMetadataStore+Search.swift.

    public func changeState(model: ModelName, version: Int, to state: VersionState, change: ChangeContext) async throws -> VersionInfo {
        guard state == .archived || state == .deleted else {
            throw VesselError.invalidArgument("a version can only be archived or deleted")
        }
        let now = clock()
        try await write { db in
            let modelID = try await self.modelID(db, model)
            guard let row = try await db.raw("""
                SELECT id, state, digest FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: version) AND state <> 'deleted'
                """).first() else {
                throw VesselError.notFound("version \(model):\(version) does not exist")
            }
            let id = try row.decode(column: "id", as: String.self)
            let before = try row.decode(column: "state", as: String.self)
            if state == .deleted {
                let pointing = try await db.raw("SELECT name FROM aliases WHERE version_id = \(bind: id) ORDER BY name").all()
                    .map { try $0.decode(column: "name", as: String.self) }
                guard pointing.isEmpty else {
                    throw VesselError.conflict("version \(model):\(version) is still the target of alias(es) \(pointing.joined(separator: ", ")); move or remove them first")
                }
                try await self.requireNotDeployed(db, versionID: id, model: model, version: version)
            }
            guard before != state.rawValue else { return }
            try await db.raw("UPDATE versions SET state = \(bind: state.rawValue) WHERE id = \(bind: id)").run()
            try await self.audit(db, change, at: now, action: "version.\(state == .deleted ? "delete" : "archive")", target: "version/\(model):\(version)", model: model, before: before, after: state.rawValue)
            let digest = try row.decode(column: "digest", as: String.self)
            try await self.event(db, state == .deleted ? .versionDeleted : .versionArchived, at: now, model: model, ["model": model.description, "version": String(version), "digest": digest, "actor": change.actor])
        }
        if state == .deleted {
            return try await deletedInfo(model: model, version: version)
        }
        return try await resolve(Reference(model: model, selector: .version(version)))
    }

    private func deletedInfo(model: ModelName, version: Int) async throws -> VersionInfo {
        try await backend.read { db in
            let modelID = try await self.modelID(db, model)
            guard let row = try await db.raw("\(unsafeRaw: Self.versionQuery) WHERE v.model_id = \(bind: modelID) AND v.number = \(bind: version)").first() else {
                throw VesselError.notFound("version \(model):\(version) does not exist")
            }
            return try await self.versionInfo(db, row, model: model)
        }
    }

    static let versionQuery = """
        SELECT v.id, v.number, v.state, v.digest, v.manifest_digest, v.file_count, v.total_size, v.description, v.findings, v.created_at, v.created_by,
          v.summary, v.scan_report
        FROM versions v
        """

    func versionInfo(_ db: any SQLDatabase, _ row: any SQLRow, model: ModelName) async throws -> VersionInfo {
        let id = try row.decode(column: "id", as: String.self)
        let aliases = try await db.raw("SELECT name FROM aliases WHERE version_id = \(bind: id) ORDER BY name").all()
            .map { try $0.decode(column: "name", as: String.self) }
        return try Self.versionInfo(row, model: model, aliases: aliases)
    }

    func files(_ db: any SQLDatabase, versionID: String) async throws -> [ManifestEntry] {
        try await db.raw("SELECT path, size, digest, media_type FROM version_files WHERE version_id = \(bind: versionID)").all()
            .map { row in
                ManifestEntry(
                    path: try row.decode(column: "path", as: String.self),
                    size: UInt64(try row.decode(column: "size", as: Int64.self)),
                    digest: try Digest(try row.decode(column: "digest", as: String.self)),
                    mediaType: try row.decode(column: "media_type", as: String.self)
                )
            }
            .sorted { ManifestPath.precedes($0.path, $1.path) }
    }
}
