import Crypto
import Foundation
import SQLKit
import VesselCore

extension SQLMetadataStore {
    public func addRun(owner: String, id: String, request: RunRequest, datasets: [DatasetReference], requirements: [RequirementEntry]?,
                       change: ChangeContext) async throws -> RunInfo {
        let now = clock()
        let paramsJSON = try Self.encodeJSON(request.params ?? [:])
        let metricsJSON = try Self.encodeJSON(request.metrics ?? [:])
        let requirementsJSON = try requirements.map(Self.encodeJSON)
        let configDigest = request.config.map { Digest(bytes: SHA256.hash(data: Data($0.utf8))).description }
        try await write(conflictMessage: "run '\(owner)/\(id)' already exists") { db in
            var revisions: [String] = []
            for dataset in datasets { revisions.append(try await self.datasetRevisionID(db, dataset)) }
            try await db.raw("""
                INSERT INTO runs (id, owner, name, git_repo, git_commit, config_name, config_digest, config, params, metrics, image,
                  requirements_file, requirements_text, requirements, created_at, created_by)
                VALUES (\(bind: id), \(bind: owner), \(bind: request.name), \(bind: request.gitRepo), \(bind: request.gitCommit), \(bind: request.configName),
                  \(bind: configDigest), \(bind: request.config), \(bind: paramsJSON), \(bind: metricsJSON), \(bind: request.image),
                  \(bind: request.requirements?.fileName), \(bind: request.requirements?.text), \(bind: requirementsJSON), \(bind: now), \(bind: change.actor))
                """).run()
            for revision in Set(revisions) {
                try await db.raw("INSERT INTO run_datasets (run_id, revision_id) VALUES (\(bind: id), \(bind: revision))").run()
            }
            try await AuditChain.append(db, at: now, change: change, action: "run.add", target: "run/\(owner)/\(id)", model: "\(owner)/*", before: nil,
                                        after: datasets.map(\.description).joined(separator: ","))
            var payload = ["run": id, "owner": owner, "actor": change.actor, "datasets": datasets.map(\.description).joined(separator: ",")]
            if let name = request.name { payload["name"] = name }
            if let commit = request.gitCommit { payload["git_commit"] = commit }
            try await Outbox.append(db, id: self.makeID(), type: .runAdded, at: now, model: "\(owner)/*", payload: payload)
        }
        return try await run(owner: owner, id: id)
    }

    public func run(owner: String, id: String) async throws -> RunInfo {
        try await backend.read { db in
            guard let row = try await db.raw("SELECT \(unsafeRaw: Self.runColumns), config FROM runs WHERE owner = \(bind: owner) AND id = \(bind: id)").first() else {
                throw VesselError.notFound("run '\(owner)/\(id)' does not exist")
            }
            return try await self.runInfos(db, [row], withConfig: true)[0]
        }
    }

    public func runs(owner: String) async throws -> [RunInfo] {
        try await backend.read { db in
            let rows = try await db.raw("SELECT \(unsafeRaw: Self.runColumns) FROM runs WHERE owner = \(bind: owner) ORDER BY created_at DESC, id").all()
            return try await self.runInfos(db, rows, withConfig: false)
        }
    }

    static let runColumns = """
        id, owner, name, git_repo, git_commit, config_name, config_digest, params, metrics, image, requirements_file, requirements_text, requirements,
        created_at, created_by
        """

    func runInfos(_ db: any SQLDatabase, _ rows: [any SQLRow], withConfig: Bool) async throws -> [RunInfo] {
        let ids = try rows.map { try $0.decode(column: "id", as: String.self) }
        var datasets: [String: [String]] = [:]
        for chunk in ids.batches(of: 500) {
            let found = try await db.raw("""
                SELECT x.run_id, d.owner, d.name, r.number FROM run_datasets x JOIN dataset_revisions r ON r.id = x.revision_id
                JOIN datasets d ON d.id = r.dataset_id WHERE x.run_id IN (\(binds: chunk)) ORDER BY d.owner, d.name, r.number
                """).all()
            for row in found {
                let text = "\(try row.decode(column: "owner", as: String.self))/\(try row.decode(column: "name", as: String.self)):\(try row.decode(column: "number", as: Int.self))"
                datasets[try row.decode(column: "run_id", as: String.self), default: []].append(text)
            }
        }
        return try rows.map { row in
            let id = try row.decode(column: "id", as: String.self)
            return RunInfo(
                id: id, owner: try row.decode(column: "owner", as: String.self), name: try row.decode(column: "name", as: String?.self),
                gitRepo: try row.decode(column: "git_repo", as: String?.self), gitCommit: try row.decode(column: "git_commit", as: String?.self),
                configName: try row.decode(column: "config_name", as: String?.self),
                configDigest: try row.decode(column: "config_digest", as: String?.self).map { try Digest($0) },
                config: withConfig ? try row.decode(column: "config", as: String?.self) : nil,
                params: try Self.decodeJSON([String: String].self, try row.decode(column: "params", as: String.self)),
                metrics: try Self.decodeJSON([String: Double].self, try row.decode(column: "metrics", as: String.self)),
                datasets: datasets[id] ?? [],
                environment: try Self.environment(row, source: "run"),
                createdAt: Timestamp.rfc3339(micros: try row.decode(column: "created_at", as: Int64.self)),
                createdBy: try row.decode(column: "created_by", as: String.self))
        }
    }

    /// The environment columns (`image`, `requirements_file`, `requirements_text`,
    /// `requirements`) of a run or version_lineage row.
    static func environment(_ row: any SQLRow, source: String) throws -> VersionEnvironment {
        let text = try row.decode(column: "requirements_text", as: String?.self)
        let image = try row.decode(column: "image", as: String?.self)
        return VersionEnvironment(
            requirementsFile: try row.decode(column: "requirements_file", as: String?.self), requirementsText: text,
            requirements: try row.decode(column: "requirements", as: String?.self).map { try decodeJSON([RequirementEntry].self, $0) },
            requirementsSource: text == nil ? nil : source, image: image, imageSource: image == nil ? nil : source)
    }

    public func linkDraft(model: ModelName, draftID: String, lineage: VersionLineageRequest, requirements: [RequirementEntry]?) async throws {
        let requirementsJSON = try requirements.map(Self.encodeJSON)
        try await write { db in
            let modelID = try await self.modelID(db, model)
            guard try await db.raw("SELECT id FROM versions WHERE id = \(bind: draftID) AND model_id = \(bind: modelID) AND state = 'pending'").first() != nil else {
                throw VesselError.notFound("draft '\(draftID)' of model '\(model)' does not exist or is committed")
            }
            if let run = lineage.run, try await db.raw("SELECT id FROM runs WHERE id = \(bind: run)").first() == nil {
                throw VesselError.notFound("run '\(run)' does not exist")
            }
            try await db.raw("DELETE FROM version_lineage WHERE version_id = \(bind: draftID)").run()
            try await db.raw("""
                INSERT INTO version_lineage (version_id, run_id, image, requirements_file, requirements_text, requirements)
                VALUES (\(bind: draftID), \(bind: lineage.run), \(bind: lineage.image), \(bind: lineage.requirements?.fileName),
                  \(bind: lineage.requirements?.text), \(bind: requirementsJSON))
                """).run()
        }
    }

    /// The run a version (or draft) links, for `version.created`'s payload.
    func linkedRun(_ db: any SQLDatabase, versionID: String) async throws -> String? {
        try await db.raw("SELECT run_id FROM version_lineage WHERE version_id = \(bind: versionID)").first()?.decode(column: "run_id", as: String?.self)
    }

    public func versionLineage(model: ModelName, version: Int) async throws -> (run: String?, environment: VersionEnvironment) {
        try await backend.read { db in
            let id = try await self.liveVersionID(db, model: model, version: version)
            guard let row = try await db.raw("SELECT run_id, image, requirements_file, requirements_text, requirements FROM version_lineage WHERE version_id = \(bind: id)").first() else {
                return (nil, VersionEnvironment())
            }
            var environment = try Self.environment(row, source: "version")
            guard let runID = try row.decode(column: "run_id", as: String?.self),
                  let runRow = try await db.raw("SELECT owner, image, requirements_file, requirements_text, requirements FROM runs WHERE id = \(bind: runID)").first() else {
                return (nil, environment)
            }
            let fallback = try Self.environment(runRow, source: "run")
            if environment.requirementsText == nil {
                environment.requirementsFile = fallback.requirementsFile
                environment.requirementsText = fallback.requirementsText
                environment.requirements = fallback.requirements
                environment.requirementsSource = fallback.requirementsSource
            }
            if environment.image == nil {
                environment.image = fallback.image
                environment.imageSource = fallback.imageSource
            }
            return ("\(try runRow.decode(column: "owner", as: String.self))/\(runID)", environment)
        }
    }
}

extension SQLMetadataStore {
    /// The owner of run `id`. - Throws: `not_found`.
    public func runOwner(id: String) async throws -> String {
        guard let row = try await backend.read({ db in try await db.raw("SELECT owner FROM runs WHERE id = \(bind: id)").first() }) else {
            throw VesselError.notFound("run '\(id)' does not exist")
        }
        return try row.decode(column: "owner", as: String.self)
    }
}
