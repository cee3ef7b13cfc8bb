import Foundation
import Hummingbird
import VesselCore
import VesselMetadata
import VesselStorage

/// The part of the MLflow Model Registry REST API that `MlflowClient` uses to read models,
/// versions and aliases and to move aliases (docs/mlflow.md), and the artifact routes
/// `mlflow.artifacts.download_artifacts("models:/…")` follows from `get-download-uri`.
///
/// The model arrives in the query or the body, so these routes are registered
/// `authenticated` and each handler asks for its permission on the named model
/// (`APIRoutes.authorize`) only after the request named one: an empty `{}` body is answered
/// 400 before any role check. Errors, authentication's included, have MLflow's shape
/// (`{"error_code", "message"}`, `MLflow.code(for:)`). Aliases move through
/// `GovernanceStore.promote` exactly as `vessel alias set` does.
struct MLflowController {
    let store: any ModelStore & VersionStore & AliasStore & GovernanceStore & GrantStore & BlobMembership
    let blobs: any BlobStore
    /// Counts the blob bytes written (`vessel_blob_bytes_served_total`), as the API's blob route.
    let metrics: ServerMetrics

    static let registry = "/api/2.0/mlflow"
    static let artifacts = "/api/2.0/mlflow-artifacts/artifacts"

    func register(_ routes: APIRoutes) {
        let errors = RouteDialect(answer: { error, _, context in Self.errorResponse(error, context) })
        let routes_ = routes
        let routes = routes_.authorization
        let r = Self.registry
        routes_.on(.post, "\(r)/registered-models/create", .authenticated, dialect: errors) { request, context, caller in
            let body = try await Self.body(request, context)
            let model = try MLflow.modelName(try Self.require(body.name, "name"))
            let change = try await routes.authorize(caller, .write, model: model).change
            let tags = (body.tags ?? []).map { $0.value.isEmpty ? $0.key : "\($0.key)=\($0.value)" }
            let info = try await store.createModel(model, description: body.description ?? "", tags: tags, change: change)
            return try Self.reply(MLflow.RegisteredModelReply(try await registeredModel(info)))
        }
        routes_.on(.get, "\(r)/registered-models/get", .authenticated, dialect: errors) { request, _, caller in
            let model = try MLflow.modelName(try Self.query(request, "name"))
            _ = try await routes.authorize(caller, .read, model: model)
            return try Self.reply(MLflow.RegisteredModelReply(try await registeredModel(try await store.model(model))))
        }
        routes_.on(.get, "\(r)/registered-models/search", .authenticated, dialect: errors) { request, _, caller in
            try Self.reply(try await searchModels(request, caller: caller, routes: routes))
        }
        routes_.on(.patch, "\(r)/registered-models/update", .authenticated, dialect: errors) { request, context, caller in
            let body = try await Self.body(request, context)
            let model = try MLflow.modelName(try Self.require(body.name, "name"))
            let change = try await routes.authorize(caller, .write, model: model).change
            let info: ModelInfo
            if let description = body.description {
                info = try await store.updateModel(model, update: UpdateModelRequest(description: description), change: change)
            } else {
                info = try await store.model(model)
            }
            return try Self.reply(MLflow.RegisteredModelReply(try await registeredModel(info)))
        }
        routes_.on(.post, "\(r)/registered-models/get-latest-versions", .authenticated, dialect: errors) { request, context, caller in
            let body = try await Self.body(request, context)
            let model = try MLflow.modelName(try Self.require(body.name, "name"))
            _ = try await routes.authorize(caller, .read, model: model)
            _ = try await store.model(model)
            // Vessel has no stages: every ready version is in stage "None"; the latest is its answer.
            let stages = (body.stages ?? []).map { $0.lowercased() }
            let versions = stages.isEmpty || stages.contains("none") ? try await latest(model) : []
            return try Self.reply(MLflow.ModelVersionsPage(versions, next: nil))
        }
        routes_.on(.post, "\(r)/registered-models/alias", .authenticated, dialect: errors) { request, context, caller in
            let body = try await Self.body(request, context)
            let model = try MLflow.modelName(try Self.require(body.name, "name"))
            let alias = try AliasName(try Self.require(body.alias, "alias"))
            let version = try Reference.parseVersion(try Self.require(body.version, "version"))
            let authorized = try await routes.authorize(caller, .write, model: model)
            let attempt = PromotionAttempt(model: model, alias: alias, version: version, mode: .set, role: authorized.role)
            try AliasController.requireApplied(try await store.promote(attempt, change: authorized.change))
            return Self.empty()
        }
        routes_.on(.delete, "\(r)/registered-models/alias", .authenticated, dialect: errors) { request, context, caller in
            let body = try await Self.body(request, context)
            let model = try MLflow.modelName(try Self.require(body.name, "name"))
            let alias = try AliasName(try Self.require(body.alias, "alias"))
            let authorized = try await routes.authorize(caller, .write, model: model)
            let attempt = PromotionAttempt(model: model, alias: alias, version: 0, mode: .remove, role: authorized.role)
            try AliasController.requireApplied(try await store.promote(attempt, change: authorized.change))
            return Self.empty()
        }
        routes_.on(.get, "\(r)/registered-models/alias", .authenticated, dialect: errors) { request, _, caller in
            let model = try MLflow.modelName(try Self.query(request, "name"))
            let aliasText = try Self.query(request, "alias")
            _ = try await routes.authorize(caller, .read, model: model)
            let info: VersionInfo
            do {
                info = try await store.resolve(Reference(model: model, selector: .alias(try AliasName(aliasText))))
            } catch let error as VesselError where error.code == .notFound || error.code == .invalidArgument {
                _ = try await store.model(model)
                // MLflow's own answer for an unknown alias of a known model.
                throw MLflowError(code: "INVALID_PARAMETER_VALUE", status: .badRequest, message: "Registered model alias \(aliasText) not found.")
            }
            return try Self.reply(MLflow.ModelVersionReply(MLflow.ModelVersion(info)))
        }
        routes_.on(.get, "\(r)/model-versions/get", .authenticated, dialect: errors) { request, _, caller in
            let model = try MLflow.modelName(try Self.query(request, "name"))
            let version = try Reference.parseVersion(try Self.query(request, "version"))
            _ = try await routes.authorize(caller, .read, model: model)
            return try Self.reply(MLflow.ModelVersionReply(MLflow.ModelVersion(try await store.resolve(Reference(model: model, selector: .version(version))))))
        }
        routes_.on(.get, "\(r)/model-versions/search", .authenticated, dialect: errors) { request, _, caller in
            let filter = try MLflowFilter.parse(Self.formValue(request, "filter"))
            guard let model = try filter.exactName(), filter.clauses.count == 1 else {
                throw VesselError.invalidArgument("search_model_versions needs a filter of the form name='owner~name' (Vessel lists the versions of one model at a time)")
            }
            _ = try await routes.authorize(caller, .read, model: model)
            let page = try await store.listVersions(model: model, filter: VersionFilter(), limit: try Self.maxResults(request, unasked: Limits.pageSize),
                                                    cursor: Self.pageToken(request))
            return try Self.reply(MLflow.ModelVersionsPage(page.items.map(MLflow.ModelVersion.init), next: page.nextCursor))
        }
        routes_.on(.patch, "\(r)/model-versions/update", .authenticated, dialect: errors) { request, context, caller in
            let body = try await Self.body(request, context)
            let model = try MLflow.modelName(try Self.require(body.name, "name"))
            let version = try Reference.parseVersion(try Self.require(body.version, "version"))
            let change = try await routes.authorize(caller, .write, model: model).change
            let info: VersionInfo
            if let description = body.description {
                info = try await store.updateVersion(model: model, version: version, description: description, change: change)
            } else {
                info = try await store.resolve(Reference(model: model, selector: .version(version)))
            }
            return try Self.reply(MLflow.ModelVersionReply(MLflow.ModelVersion(info)))
        }
        routes_.on(.get, "\(r)/model-versions/get-download-uri", .authenticated, dialect: errors) { request, _, caller in
            let model = try MLflow.modelName(try Self.query(request, "name"))
            let version = try Reference.parseVersion(try Self.query(request, "version"))
            _ = try await routes.authorize(caller, .read, model: model)
            let info = try await store.resolve(Reference(model: model, selector: .version(version)))
            return try Self.reply(MLflow.DownloadURIReply(MLflow.artifactURI(model, version: info.version)))
        }
        routes_.on(.post, "\(r)/model-versions/create", .authenticated, dialect: errors) { request, context, _ in
            let body = try await Self.body(request, context)
            let name = try Self.require(body.name, "name")
            let model = (try? MLflow.modelName(name))?.description ?? "OWNER/NAME"
            throw MLflowError(code: "NOT_IMPLEMENTED", status: .notImplemented,
                              message: "Vessel creates model versions only from pushed files: run `vessel push FOLDER \(model)`, then read the version here")
        }
        routes_.on(.get, Self.artifacts, .authenticated, dialect: errors) { request, _, caller in
            try Self.reply(try await listArtifacts(request, caller: caller, routes: routes))
        }
        routes_.on(.get, "\(Self.artifacts)/models/:owner/:name/versions/:version/**", .read, dialect: errors) { _, context, _ in
            try await downloadArtifact(context)
        }
    }

    // MARK: - Reads

    private func latest(_ model: ModelName) async throws -> [MLflow.ModelVersion] {
        do {
            return [MLflow.ModelVersion(try await store.resolve(Reference(model: model, selector: .latest)))]
        } catch let error as VesselError where error.code == .notFound {
            return []
        }
    }

    private func registeredModel(_ info: ModelInfo) async throws -> MLflow.RegisteredModel {
        MLflow.RegisteredModel(info, latest: info.latestVersion == nil ? [] : try await latest(info.model), aliases: try await store.aliases(model: info.model))
    }

    /// `filter` (name and tag clauses), `max_results` (100 unasked), `page_token`: the models
    /// the caller may read, in name order; the clauses are applied to each page, so a page may
    /// hold fewer than `max_results` and still name a next one.
    private func searchModels(_ request: Request, caller: Caller, routes: RouteGuard) async throws -> MLflow.RegisteredModelsPage {
        let filter = try MLflowFilter.parse(Self.formValue(request, "filter"))
        let limit = try Self.maxResults(request, unasked: 100)
        if let exact = try filter.exactName() {
            guard (try? await routes.authorize(caller, .read, model: exact)) != nil else { return MLflow.RegisteredModelsPage([], next: nil) }
            do {
                let info = try await store.model(exact)
                return MLflow.RegisteredModelsPage(filter.matches(info.model, tags: info.tags) ? [try await registeredModel(info)] : [], next: nil)
            } catch let error as VesselError where error.code == .notFound {
                return MLflow.RegisteredModelsPage([], next: nil)
            }
        }
        let readable = try await store.readableScopes(of: caller.principal.name)
        let page = try await store.listModels(readable: readable, limit: limit, cursor: Self.pageToken(request))
        var models: [MLflow.RegisteredModel] = []
        for info in page.items where filter.matches(info.model, tags: info.tags) { models.append(try await registeredModel(info)) }
        return MLflow.RegisteredModelsPage(models, next: page.nextCursor)
    }

    // MARK: - Artifacts

    /// A version that may be downloaded: ready or archived; a quarantined one is refused as
    /// `vessel pull` refuses it.
    private func downloadable(_ model: ModelName, _ version: Int) async throws -> VersionInfo {
        let info = try await store.resolve(Reference(model: model, selector: .version(version)))
        if info.state == .quarantined {
            throw VesselError(.quarantined, "version \(model):\(version) is quarantined (it failed validation or scanning); see `vessel show \(model):\(version)`")
        }
        return info
    }

    /// `GET …/artifacts?path=models/OWNER/NAME/versions/N[/FOLDER]`: the folder's entries,
    /// paths relative to it, folders listed in turn by the client.
    private func listArtifacts(_ request: Request, caller: Caller, routes: RouteGuard) async throws -> MLflow.FileList {
        let path = try Self.query(request, "path")
        guard let (model, version, folder) = try MLflow.parseArtifactPath(path) else {
            throw VesselError.notFound("no artifacts at '\(path.prefix(300))': Vessel serves versions at models/OWNER/NAME/versions/N")
        }
        _ = try await routes.authorize(caller, .read, model: model)
        let manifest = try await downloadable(model, version).manifest ?? []
        if let file = manifest.first(where: { $0.path == folder }) {
            return MLflow.FileList([MLflow.FileInfo(path: String(folder.split(separator: "/").last ?? ""), isDir: false, fileSize: Int64(file.size))])
        }
        let prefix = folder.isEmpty ? "" : folder + "/"
        var seenFolders = Set<String>()
        var files: [MLflow.FileInfo] = []
        for entry in manifest where entry.path.hasPrefix(prefix) {
            let rest = entry.path.dropFirst(prefix.count)
            if let slash = rest.firstIndex(of: "/") {
                let name = String(rest[..<slash])
                if seenFolders.insert(name).inserted { files.append(MLflow.FileInfo(path: name, isDir: true, fileSize: nil)) }
            } else {
                files.append(MLflow.FileInfo(path: String(rest), isDir: false, fileSize: Int64(entry.size)))
            }
        }
        return MLflow.FileList(files)
    }

    /// `GET …/artifacts/models/OWNER/NAME/versions/N/PATH`: one file's bytes, streamed from the blob store.
    private func downloadArtifact(_ context: AppContext) async throws -> Response {
        guard let model = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no model") }
        let version = try Reference.parseVersion(try context.parameters.require("version"))
        let raw = context.parameters.getCatchAll().joined(separator: "/")
        let path = raw.removingPercentEncoding ?? raw
        let info = try await downloadable(model, version)
        guard let entry = info.manifest?.first(where: { $0.path == path }), try await store.modelContainsBlob(model: model, digest: entry.digest) else {
            throw VesselError.notFound("version \(model):\(version) holds no file '\(path.prefix(300))'")
        }
        let headers: HTTPFields = [.contentType: "application/octet-stream", .contentLength: String(entry.size), .eTag: "\"\(entry.digest)\""]
        let chunks = try await blobs.read(entry.digest, range: nil)
        return Response(status: .ok, headers: headers, body: metrics.countingBody(chunks, model: "\(model)"))
    }

    // MARK: - Requests and replies

    static func body(_ request: Request, _ context: AppContext) async throws -> MLflowRequest {
        try await JSONResponse.decode(MLflowRequest.self, from: request, context: context)
    }

    /// A query parameter as the client's `requests` encodes it (form encoding: `+` is a space,
    /// `%2B` a plus), read from the raw query.
    static func formValue(_ request: Request, _ field: String) -> String? {
        guard let query = request.uri.query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            guard key == field else { continue }
            let raw = parts.count > 1 ? String(parts[1]).replacingOccurrences(of: "+", with: " ") : ""
            return raw.removingPercentEncoding ?? raw
        }
        return nil
    }

    static func require(_ value: String?, _ field: String) throws(VesselError) -> String {
        guard let value, !value.isEmpty else { throw .invalidArgument("missing value for required parameter '\(field)'") }
        return value
    }

    static func query(_ request: Request, _ field: String) throws(VesselError) -> String {
        try require(Self.formValue(request, field), field)
    }

    static func pageToken(_ request: Request) -> String? {
        Self.formValue(request, "page_token").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `max_results`, capped at `Limits.pageSize` (the client's unasked 10000 for versions
    /// gets the first 1000 and a `next_page_token`).
    static func maxResults(_ request: Request, unasked: Int) throws(VesselError) -> Int {
        guard let text = Self.formValue(request, "max_results") else { return min(unasked, Limits.pageSize) }
        guard let value = Int(text), value > 0 else { throw .invalidArgument("max_results must be a positive integer") }
        return min(value, Limits.pageSize)
    }

    static func reply<T: Encodable>(_ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var buffer = ByteBuffer(bytes: try encoder.encode(value))
        buffer.writeString("\n")
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    static func empty() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}\n")))
    }

    // MARK: - Errors

    /// Every error of these routes in MLflow's shape: a `VesselError` by `MLflow.code(for:)`
    /// with its message (a refused alias keeps Vessel's reason), an `MLflowError` as it is.
    static func errorResponse(_ error: any Error, _ context: AppContext) -> Response {
        let failure: MLflowError
        switch error {
        case let error as MLflowError:
            failure = error
        case let error as VesselError:
            failure = MLflowError(error)
        case let error as DeadlineExceeded:
            failure = MLflowError(VesselError(.unavailable, "a backend did not answer in time (\(error))", retryAfter: BackendFailure.retryAfterSeconds))
        case let error as HTTPError:
            let code: ErrorCode = error.status.code == 404 ? .notFound : error.status.code == 413 ? .payloadTooLarge : error.status.code < 500 ? .invalidArgument : .internalError
            failure = MLflowError(VesselError(code, error.body ?? error.status.reasonPhrase))
        default:
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            failure = MLflowError(VesselError.internalError("the server failed to handle the request; the server log has details (request id \(context.id))"))
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if failure.status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"vessel\"" }
        if let seconds = failure.retryAfter { headers[.retryAfter] = String(seconds) }
        let body = (try? JSONEncoder().encode(MLflow.ErrorReply(errorCode: failure.code, message: failure.message))) ?? Data("{}".utf8)
        return Response(status: failure.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// An error answered in MLflow's shape with MLflow's code.
struct MLflowError: Error {
    var code: String
    var status: HTTPResponse.Status
    var message: String
    var retryAfter: Int? = nil

    init(code: String, status: HTTPResponse.Status, message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    init(_ error: VesselError) {
        let mapped = MLflow.code(for: error.code)
        self.init(code: mapped.code, status: HTTPResponse.Status(code: mapped.status), message: error.message)
        retryAfter = error.retryAfter
    }
}
