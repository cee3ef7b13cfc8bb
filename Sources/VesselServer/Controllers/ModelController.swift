import Hummingbird
import VesselCore
import VesselMetadata
import VesselSigning
import VesselStorage

/// Models, versions (draft → commit), version states.
struct ModelController {
    let store: any ModelStore & VersionStore & BlobIndex & FormatPolicyStore & GrantStore & LineageStore
    let blobs: any BlobStore
    let pipeline: ValidationPipeline

    func register(_ routes: APIRoutes) {
        // Any token lists models; each caller sees the ones its grants cover (all of them with a
        // role on '*'). The store filters in its query, so neither a page nor its cursor names
        // a model the caller may not read (issue 21, item 3).
        routes.on(.get, "/api/v1/models", .authenticated) { request, _, caller in
            let readable = try await store.readableScopes(of: caller.principal.name)
            return try JSONResponse.make(try await store.listModels(readable: readable, query: try Query.modelQuery(request), limit: Query.limit(request), cursor: Query.cursor(request)))
        }
        // Versions of every model the caller may read (issue 27): filtered in the query like the models list.
        routes.on(.get, "/api/v1/versions", .authenticated) { request, _, caller in
            let readable = try await store.readableScopes(of: caller.principal.name)
            return try JSONResponse.make(try await store.searchVersions(readable: readable, search: try Query.versionSearch(request), limit: Query.limit(request), cursor: Query.cursor(request)))
        }
        routes.on(.patch, "/api/v1/models/:owner/:name", .write) { request, context, caller in
            let body = try await JSONResponse.decode(UpdateModelRequest.self, from: request, context: context)
            return try JSONResponse.make(try await store.updateModel(try requireModel(context), update: body, change: caller.change))
        }
        routes.on(.patch, "/api/v1/models/:owner/:name/versions/:version", .write) { request, context, caller in
            let body = try await JSONResponse.decode(UpdateVersionRequest.self, from: request, context: context)
            return try JSONResponse.make(try await store.updateVersion(model: try requireModel(context), version: try version(context), description: body.description, change: caller.change))
        }
        routes.on(.post, "/api/v1/models/:owner/:name", .write) { request, context, caller in
            let model = try requireModel(context)
            let body = try await JSONResponse.decode(CreateModelRequest.self, from: request, context: context)
            return try JSONResponse.make(try await store.createModel(model, description: body.description ?? "", tags: body.tags ?? [], change: caller.change), status: .created)
        }
        routes.on(.get, "/api/v1/models/:owner/:name", .read) { _, context, _ in
            try JSONResponse.make(try await store.model(try requireModel(context)))
        }
        routes.on(.get, "/api/v1/models/:owner/:name/versions", .read) { request, context, _ in
            try JSONResponse.make(try await store.listVersions(model: try requireModel(context), filter: try Query.versionFilter(request), limit: Query.limit(request), cursor: Query.cursor(request)))
        }
        routes.on(.get, "/api/v1/models/:owner/:name/versions/:version", .read) { _, context, _ in
            let reference = Reference(model: try requireModel(context), selector: .version(try version(context)))
            return try JSONResponse.make(try await store.resolve(reference))
        }
        routes.on(.get, "/api/v1/models/:owner/:name/latest", .read) { _, context, _ in
            try JSONResponse.make(try await store.resolve(Reference(model: try requireModel(context), selector: .latest)))
        }
        routes.on(.post, "/api/v1/models/:owner/:name/versions/:version/archive", .write) { _, context, caller in
            try JSONResponse.make(try await store.changeState(model: try requireModel(context), version: try version(context), to: .archived, change: caller.change))
        }
        routes.on(.delete, "/api/v1/models/:owner/:name/versions/:version", .write) { _, context, caller in
            try JSONResponse.make(try await store.changeState(model: try requireModel(context), version: try version(context), to: .deleted, change: caller.change))
        }
        routes.on(.post, "/api/v1/models/:owner/:name/drafts", .write) { request, context, caller in
            let model = try requireModel(context)
            let body = try await JSONResponse.decode(DraftRequest.self, from: request, context: context)
            let manifest = try Manifest(entries: body.files)
            guard !manifest.entries.isEmpty else { throw VesselError.invalidArgument("a version must hold at least one file") }
            let lineage = try await LineageLink.check(body.lineage, store: store, caller: caller)
            let draft = try await store.createDraft(model: model, manifest: manifest, digest: RootDigest.of(manifest), description: body.description ?? "", change: caller.change)
            if let lineage { try await store.linkDraft(model: model, draftID: draft, lineage: lineage.request, requirements: lineage.requirements) }
            let missing = try await unusableBlobs(manifest, model: model, caller: caller)
            return try JSONResponse.make(DraftResponse(draftId: draft, missing: missing), status: .created)
        }
        routes.on(.post, "/api/v1/models/:owner/:name/drafts/:draft/commit", .write) { _, context, caller in
            let model = try requireModel(context)
            let draft = try context.parameters.require("draft")
            // Committed already (a retry after a lost answer): the version it became, not validated again.
            let manifest: Manifest
            switch try await store.draftToCommit(model: model, draftID: draft) {
            case .committed(let committed): return try JSONResponse.make(committed)
            case .pending(let pending): manifest = pending
            }
            let missing = try await unusableBlobs(manifest, model: model, caller: caller)
            guard missing.isEmpty else {
                throw VesselError(.missingBlobs, "\(missing.count) blob(s) of this version were never uploaded by you for this model and are in no version you may read; upload them, then commit again", details: missing.map(\.description))
            }
            let policy = try await store.formatPolicy(for: model)
            let report = try await pipeline.run(ValidationInput(model: model, manifest: manifest, blobs: blobs, blobIndex: store, formatPolicy: policy))
            let version = try await store.commitDraft(model: model, draftID: draft, findings: report.findings, analysis: report.analysis, change: caller.change)
            return try JSONResponse.make(version, status: .created)
        }
    }

    /// The manifest's blobs the caller must still upload: knowing a digest never grants its
    /// content (issue 21, item 1; `BlobIndex.unusableBlobs`).
    func unusableBlobs(_ manifest: Manifest, model: ModelName, caller: Caller) async throws -> [Digest] {
        try await store.unusableBlobs(manifest.entries.map(\.digest), model: model, principal: caller.principal.name,
                                      readable: try await store.readableScopes(of: caller.principal.name))
    }

    func requireModel(_ context: AppContext) throws -> ModelName {
        guard let model = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no model") }
        return model
    }

    func version(_ context: AppContext) throws -> Int {
        try Reference.parseVersion(try context.parameters.require("version"))
    }
}
