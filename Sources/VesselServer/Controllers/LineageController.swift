import Foundation
import Hummingbird
import VesselCore
import VesselMetadata

/// Datasets (`vessel dataset`), training runs (`vessel run`), a version's environment and the
/// lineage graph (`vessel lineage`); docs/lineage.md. Datasets share the models' `:owner/:name`
/// routes' authorization, so grants on `acme/*` cover both; a run is addressed as
/// `:owner/:name` with its id as the name, so grants on `OWNER/*` cover it.
struct LineageController {
    let store: SQLMetadataStore

    /// The deepest walk a query may ask for.
    static let maxDepth = 64

    func register(_ routes: APIRoutes) {
        routes.on(.get, "/api/v1/datasets", .authenticated) { request, _, caller in
            let readable = try await store.readableScopes(of: caller.principal.name)
            return try JSONResponse.make(try ListPaging.page(try await store.latestDatasetRevisions(readable: readable), request) { $0.dataset.description })
        }
        routes.on(.post, "/api/v1/datasets/:owner/:name/revisions", .write) { request, context, caller in
            let body = try await JSONResponse.decode(DatasetRevisionRequest.self, from: request, context: context)
            let uri = body.uri.trimmingCharacters(in: .whitespaces)
            guard !uri.isEmpty, !uri.contains(where: { $0.isNewline }) else { throw VesselError.invalidArgument("a dataset revision needs a uri (--uri), on one line") }
            let digest = try body.digest.map { try Digest($0) }
            if let size = body.size, size < 0 { throw VesselError.invalidArgument("size must be 0 or more bytes, not \(size)") }
            let from = try (body.from ?? []).map { try DatasetReference($0) }
            let readable = try await store.readableScopes(of: caller.principal.name)
            for source in from where !Self.covers(readable, source.dataset.description) {
                throw VesselError.forbidden("\(caller.principal.name) may not read dataset \(source.dataset), so cannot derive from it")
            }
            let info = try await store.addDatasetRevision(try dataset(context), uri: uri, digest: digest, size: body.size, from: from,
                                                          description: body.description ?? "", change: caller.change)
            return try JSONResponse.make(info, status: .created)
        }
        routes.on(.get, "/api/v1/datasets/:owner/:name/revisions", .read) { request, context, _ in
            try JSONResponse.make(try ListPaging.page(try await store.datasetRevisions(try dataset(context)), request, descending: true) {
                String(format: "%012d", $0.revision)
            })
        }
        routes.on(.get, "/api/v1/datasets/:owner/:name/revisions/:revision", .read) { _, context, _ in
            try JSONResponse.make(try await store.datasetRevision(try revision(context)))
        }
        routes.on(.get, "/api/v1/datasets/:owner/:name/revisions/:revision/lineage", .read) { request, context, caller in
            try await graph(.dataset(try revision(context)), defaultDown: true, request, caller)
        }
        // `vessel run list [OWNER]` and `vessel run show RUN_ID`: the runs the caller may read
        // (grants on OWNER/*), newest first; `?owner=` keeps one owner's, `?id=` one run.
        routes.on(.get, "/api/v1/runs", .authenticated) { request, _, caller in
            let query = request.uri.queryParameters
            let readable = try await store.readableScopes(of: caller.principal.name)
            var runs: [RunInfo]
            if let id = query.get("id") {
                guard RunRequest.isValidID(id) else { throw VesselError.invalidArgument("'\(id.prefix(80))' is not a run id: run_ followed by 8 to 60 lowercase letters or digits") }
                if let owner = try? await store.runOwner(id: id) { runs = [try await store.run(owner: owner, id: id)] } else { runs = [] }
            } else if let owner = query.get("owner") {
                guard NameRules.isValidModelPart(owner) else { throw VesselError.invalidArgument("owner '\(owner.prefix(80))' must be 1-64 characters of a-z, 0-9, '.', '_' or '-'") }
                runs = try await store.runs(owner: owner)
            } else {
                runs = try await store.allRuns()
            }
            runs = runs.filter { Self.covers(readable, "\($0.owner)/*") }
            return try JSONResponse.make(try ListPaging.page(runs, request, descending: true) { "\($0.createdAt) \($0.id)" })
        }
        routes.on(.post, "/api/v1/runs/:owner/:name", .write) { request, context, caller in
            let (owner, id) = try run(context)
            let body = try await JSONResponse.decode(RunRequest.self, from: request, context: context)
            if let image = body.image { _ = try ImageReference.validate(image) }
            let datasets = try (body.datasets ?? []).map { try DatasetReference($0) }
            let readable = try await store.readableScopes(of: caller.principal.name)
            for dataset in datasets where !Self.covers(readable, dataset.dataset.description) {
                throw VesselError.forbidden("\(caller.principal.name) may not read dataset \(dataset.dataset), so a run cannot name it")
            }
            let requirements = try body.requirements.map(VersionEnvironment.parse)
            let info = try await store.addRun(owner: owner, id: id, request: body, datasets: datasets, requirements: requirements, change: caller.change)
            return try JSONResponse.make(info, status: .created)
        }
        routes.on(.get, "/api/v1/runs/:owner/:name", .read) { _, context, _ in
            let (owner, id) = try run(context)
            return try JSONResponse.make(try await store.run(owner: owner, id: id))
        }
        routes.on(.get, "/api/v1/runs/:owner/:name/lineage", .read) { request, context, caller in
            let (owner, id) = try run(context)
            return try await graph(.run(owner: owner, id: id), defaultDown: false, request, caller)
        }
        routes.on(.get, "/api/v1/models/:owner/:name/versions/:version/lineage", .read) { request, context, caller in
            try await graph(.version(try dataset(context), try Reference.parseVersion(try context.parameters.require("version"))), defaultDown: false, request, caller)
        }
        routes.on(.get, "/api/v1/models/:owner/:name/versions/:version/environment", .read) { _, context, _ in
            let (run, environment) = try await store.versionLineage(model: try dataset(context), version: try Reference.parseVersion(try context.parameters.require("version")))
            return try JSONResponse.make(VersionLineageInfo(run: run, environment: environment))
        }
    }

    /// The graph from `root`, without the nodes the caller may not read (counted in `hidden`).
    func graph(_ root: LineageRoot, defaultDown: Bool, _ request: Request, _ caller: Caller) async throws -> Response {
        let query = request.uri.queryParameters
        let down: Bool
        switch query.get("direction") {
        case nil: down = defaultDown
        case "down": down = true
        case "up": down = false
        case let other?: throw VesselError.invalidArgument("direction must be up or down, not '\(other)'")
        }
        var depth = Self.maxDepth
        if let text = query.get("depth") {
            guard let value = Int(text), value >= 1, value <= Self.maxDepth else {
                throw VesselError.invalidArgument("depth must be a number from 1 to \(Self.maxDepth), not '\(text)'")
            }
            depth = value
        }
        var graph = try await store.lineage(root: root, down: down, depth: depth)
        let readable = try await store.readableScopes(of: caller.principal.name)
        let visible = Set(graph.nodes.filter { Self.covers(readable, $0.scope) }.map(\.id))
        graph.hidden = graph.nodes.count - visible.count
        graph.nodes = graph.nodes.filter { visible.contains($0.id) }
        graph.edges = graph.edges.filter { visible.contains($0.from) && visible.contains($0.to) }
        return try JSONResponse.make(graph)
    }

    /// Whether a grant in `scopes` covers `scope` (`OWNER/NAME` or `OWNER/*`).
    static func covers(_ scopes: [Scope], _ scope: String) -> Bool {
        let owner = scope.split(separator: "/").first.map(String.init) ?? ""
        return scopes.contains { granted in
            switch granted {
            case .registry: true
            case .owner(let o): o == owner
            case .model(let m): m.description == scope
            }
        }
    }

    func dataset(_ context: AppContext) throws -> ModelName {
        guard let name = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no dataset") }
        return name
    }

    func revision(_ context: AppContext) throws -> DatasetReference {
        let text = try context.parameters.require("revision")
        guard let number = Int(text), number > 0, String(number) == text else {
            throw VesselError.invalidArgument("'\(text)' is not a revision number: use a positive integer such as 2")
        }
        return DatasetReference(dataset: try dataset(context), revision: number)
    }

    func run(_ context: AppContext) throws -> (String, String) {
        let name = try dataset(context)
        guard RunRequest.isValidID(name.name) else {
            throw VesselError.invalidArgument("'\(name.name)' is not a run id: run_ followed by 8 to 60 lowercase letters or digits")
        }
        return (name.owner, name.name)
    }
}
