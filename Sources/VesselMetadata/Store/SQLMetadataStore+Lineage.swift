import SQLKit
import VesselCore

/// The lineage walk: breadth first, one query per kind of step and level (batched `IN` lists),
/// so a dataset used by a thousand versions costs a handful of queries, not a thousand.
extension SQLMetadataStore {
    private enum Kind: String { case dataset, run, version }

    private struct Key: Hashable {
        let kind: Kind
        let id: String
    }

    public func lineage(root: LineageRoot, down: Bool, depth: Int) async throws -> LineageGraph {
        try await backend.read { db in
            let start = try await self.lineageRoot(db, root)
            var depths: [Key: Int] = [start: 0]
            var edges: [(from: Key, to: Key, kind: String)] = []
            var deployments: [LineageNode] = []
            var deploymentEdges: [LineageEdge] = []
            var frontier: Set<Key> = [start]
            var level = 0
            var truncated = false
            while !frontier.isEmpty {
                if level >= depth {
                    truncated = try await self.hasNeighbours(db, frontier, down: down)
                    break
                }
                level += 1
                var next: [(from: Key, to: Key, kind: String)] = []
                let ids = { (kind: Kind) in frontier.filter { $0.kind == kind }.map(\.id) }
                if down {
                    for (source, derived) in try await self.pairs(db, "SELECT source_id AS a, revision_id AS b FROM dataset_sources WHERE source_id", ids(.dataset)) {
                        next.append((Key(kind: .dataset, id: source), Key(kind: .dataset, id: derived), "derived"))
                    }
                    for (revision, run) in try await self.pairs(db, "SELECT revision_id AS a, run_id AS b FROM run_datasets WHERE revision_id", ids(.dataset)) {
                        next.append((Key(kind: .dataset, id: revision), Key(kind: .run, id: run), "trained_on"))
                    }
                    for (run, version) in try await self.pairs(db, """
                        SELECT l.run_id AS a, l.version_id AS b FROM version_lineage l JOIN versions v ON v.id = l.version_id
                        WHERE v.number IS NOT NULL AND l.run_id
                        """, ids(.run), batch: 100) {
                        next.append((Key(kind: .run, id: run), Key(kind: .version, id: version), "produced"))
                    }
                    let (nodes, served) = try await self.servingDeployments(db, versionIDs: ids(.version), depth: level)
                    deployments += nodes
                    deploymentEdges += served
                } else {
                    for (derived, source) in try await self.pairs(db, "SELECT revision_id AS a, source_id AS b FROM dataset_sources WHERE revision_id", ids(.dataset)) {
                        next.append((Key(kind: .dataset, id: derived), Key(kind: .dataset, id: source), "derived"))
                    }
                    for (run, revision) in try await self.pairs(db, "SELECT run_id AS a, revision_id AS b FROM run_datasets WHERE run_id", ids(.run)) {
                        next.append((Key(kind: .run, id: run), Key(kind: .dataset, id: revision), "trained_on"))
                    }
                    for (version, run) in try await self.pairs(db, "SELECT version_id AS a, run_id AS b FROM version_lineage WHERE run_id IS NOT NULL AND version_id", ids(.version)) {
                        next.append((Key(kind: .version, id: version), Key(kind: .run, id: run), "produced"))
                    }
                }
                frontier = []
                for step in next {
                    // Edges point the way data flows, whichever way the walk went.
                    edges.append(down ? step : (step.to, step.from, step.kind))
                    if depths[step.to] == nil {
                        depths[step.to] = level
                        frontier.insert(step.to)
                    }
                }
            }
            let labels = try await self.lineageNodes(db, depths)
            var nodes = depths.keys.compactMap { labels[$0] }.sorted { ($0.depth, $0.id) < ($1.depth, $1.id) }
            nodes += deployments
            var seen = Set<LineageEdge>()
            var out: [LineageEdge] = []
            for edge in edges {
                guard let from = labels[edge.from]?.id, let to = labels[edge.to]?.id else { continue }
                let value = LineageEdge(from: from, to: to, kind: edge.kind)
                if seen.insert(value).inserted { out.append(value) }
            }
            out += deploymentEdges
            return LineageGraph(root: labels[start]?.id ?? "", direction: down ? "down" : "up", nodes: nodes, edges: out, truncated: truncated)
        }
    }

    private func lineageRoot(_ db: any SQLDatabase, _ root: LineageRoot) async throws -> Key {
        switch root {
        case .version(let model, let number):
            return Key(kind: .version, id: try await liveVersionID(db, model: model, version: number))
        case .dataset(let reference):
            return Key(kind: .dataset, id: try await datasetRevisionID(db, reference))
        case .run(let owner, let id):
            guard try await db.raw("SELECT id FROM runs WHERE owner = \(bind: owner) AND id = \(bind: id)").first() != nil else {
                throw VesselError.notFound("run '\(owner)/\(id)' does not exist")
            }
            return Key(kind: .run, id: id)
        }
    }

    /// `(a, b)` pairs of `query` (which ends in the column to filter) for `ids`, `batch` at a time.
    /// The run → version step joins `versions` and goes 100 at a time: with 500 ids PostgreSQL's
    /// planner reads both tables whole (19–45 ms a batch at 40,000 versions, EXPLAIN ANALYZE in
    /// docs/lineage.md); with 100 it uses their indexes (0.4 ms).
    private func pairs(_ db: any SQLDatabase, _ query: String, _ ids: [String], batch: Int = 500) async throws -> [(String, String)] {
        var out: [(String, String)] = []
        for chunk in ids.batches(of: batch) {
            let rows = try await db.raw("\(unsafeRaw: query) IN (\(binds: chunk))").all()
            for row in rows { out.append((try row.decode(column: "a", as: String.self), try row.decode(column: "b", as: String.self))) }
        }
        return out
    }

    /// Whether any node of `frontier` has a further step (the walk stopped at `depth`).
    private func hasNeighbours(_ db: any SQLDatabase, _ frontier: Set<Key>, down: Bool) async throws -> Bool {
        let ids = { (kind: Kind) in Array(frontier.filter { $0.kind == kind }.map(\.id).prefix(500)) }
        let probes: [(String, [String])] = down
            ? [("SELECT source_id AS a, revision_id AS b FROM dataset_sources WHERE source_id", ids(.dataset)),
               ("SELECT revision_id AS a, run_id AS b FROM run_datasets WHERE revision_id", ids(.dataset)),
               ("SELECT run_id AS a, version_id AS b FROM version_lineage WHERE run_id", ids(.run)),
               ("SELECT blue_version_id AS a, env AS b FROM deployment_history WHERE blue_version_id", ids(.version)),
               ("SELECT green_version_id AS a, env AS b FROM deployment_history WHERE green_version_id", ids(.version))]
            : [("SELECT revision_id AS a, source_id AS b FROM dataset_sources WHERE revision_id", ids(.dataset)),
               ("SELECT run_id AS a, revision_id AS b FROM run_datasets WHERE run_id", ids(.run)),
               ("SELECT version_id AS a, run_id AS b FROM version_lineage WHERE run_id IS NOT NULL AND version_id", ids(.version))]
        for (query, chunk) in probes where !chunk.isEmpty {
            if try await !pairs(db, query, chunk).isEmpty { return true }
        }
        return false
    }

    /// The nodes' labels and details, one query per kind and 500 ids.
    private func lineageNodes(_ db: any SQLDatabase, _ depths: [Key: Int]) async throws -> [Key: LineageNode] {
        var out: [Key: LineageNode] = [:]
        func chunks(_ kind: Kind) -> [[String]] {
            let ids = depths.keys.filter { $0.kind == kind }.map(\.id).sorted()
            return ids.batches(of: 500)
        }
        for chunk in chunks(.dataset) {
            let rows = try await db.raw("\(unsafeRaw: Self.revisionQuery) WHERE r.id IN (\(binds: chunk))").all()
            for row in rows {
                let key = Key(kind: .dataset, id: try row.decode(column: "id", as: String.self))
                let name = "\(try row.decode(column: "owner", as: String.self))/\(try row.decode(column: "name", as: String.self))"
                let label = "\(name):\(try row.decode(column: "number", as: Int.self))"
                out[key] = LineageNode(id: "dataset:" + label, kind: "dataset", label: label, scope: name, depth: depths[key] ?? 0,
                                       uri: try row.decode(column: "uri", as: String.self), digest: try row.decode(column: "digest", as: String?.self))
            }
        }
        for chunk in chunks(.run) {
            let rows = try await db.raw("SELECT id, owner, name, git_commit FROM runs WHERE id IN (\(binds: chunk))").all()
            for row in rows {
                let id = try row.decode(column: "id", as: String.self)
                let key = Key(kind: .run, id: id)
                let owner = try row.decode(column: "owner", as: String.self)
                let label = try row.decode(column: "name", as: String?.self).map { "\(owner)/\(id) (\($0))" } ?? "\(owner)/\(id)"
                out[key] = LineageNode(id: "run:\(owner)/\(id)", kind: "run", label: label, scope: "\(owner)/*", depth: depths[key] ?? 0,
                                       gitCommit: try row.decode(column: "git_commit", as: String?.self))
            }
        }
        for chunk in chunks(.version) {
            let rows = try await db.raw("""
                SELECT v.id, m.owner, m.name, v.number, v.digest FROM versions v JOIN models m ON m.id = v.model_id
                WHERE v.id IN (\(binds: chunk)) AND v.number IS NOT NULL
                """).all()
            for row in rows {
                let key = Key(kind: .version, id: try row.decode(column: "id", as: String.self))
                let name = "\(try row.decode(column: "owner", as: String.self))/\(try row.decode(column: "name", as: String.self))"
                let label = "\(name):\(try row.decode(column: "number", as: Int.self))"
                out[key] = LineageNode(id: "version:" + label, kind: "version", label: label, scope: name, depth: depths[key] ?? 0,
                                       digest: try row.decode(column: "digest", as: String.self))
            }
        }
        return out
    }
}

extension SQLMetadataStore {
    /// The `lineage` gate: why the version fails it (no run, or a run that read no dataset), or nil.
    func lineageGateFailure(_ db: any SQLDatabase, versionID: String) async throws -> String? {
        guard let run = try await linkedRun(db, versionID: versionID) else {
            return "the version links no training run; push it with --run RUN_ID (a run recorded with --dataset)"
        }
        let datasets = try await db.raw("SELECT revision_id FROM run_datasets WHERE run_id = \(bind: run) LIMIT 1").all()
        return datasets.isEmpty ? "its run \(run) names no dataset revision; record the run with --dataset OWNER/NAME:REV" : nil
    }
}
