import Crypto
import Foundation
import Hummingbird
import NIOCore
import VesselCore
import VesselMetadata
import VesselStorage

/// The Hugging Face Hub download protocol under `/hf` (docs/huggingface.md): what
/// `huggingface_hub.snapshot_download` and `hf_hub_download` (and through them `from_pretrained`)
/// ask, answered from Vessel's versions. A revision is an alias, a version number or a commit id
/// (the first 40 hex digits of the version digest); `main` is the alias `main` if there is one,
/// else the latest ready version. Routes are `read`, authorized as the API's; a caller who may
/// not read the model gets the answer of a missing repository.
struct HubController {
    let store: any ModelStore & VersionStore
    let blobs: any BlobStore
    /// Counts the blob bytes written (`vessel_blob_bytes_served_total`), as the API's blob route.
    let metrics: ServerMetrics
    /// With `--storage-redirect`: downloads answer `302` to object storage, with the headers the
    /// client reads from a cross-origin redirect.
    var redirect: (@Sendable (VesselCore.Digest) -> String)? = nil

    func register(_ routes: APIRoutes) {
        let dialect = HubDialect.dialect
        routes.on(.get, "/hf/api/models/:owner/:name/revision/:revision", .read, dialect: dialect) { _, context, _ in
            let (model, version) = try await resolve(context)
            return try HubDialect.json(HubRepoInfo(model: model, version: version))
        }
        routes.on(.get, "/hf/api/models/:owner/:name/tree/:revision", .read, dialect: dialect) { _, context, _ in
            let (_, version) = try await resolve(context)
            return try HubDialect.json(HubTree.entries(version.manifest ?? [], under: ""))
        }
        routes.on(.get, "/hf/api/models/:owner/:name/tree/:revision/**", .read, dialect: dialect) { _, context, _ in
            let (_, version) = try await resolve(context)
            let folder = try HubDialect.path(context)
            let entries = HubTree.entries(version.manifest ?? [], under: folder)
            guard !entries.isEmpty else { throw HubError.entryNotFound(commit: HubDialect.commit(version), "no folder '\(folder)' in \(version.model):\(version.version)") }
            return try HubDialect.json(entries)
        }
        routes.on(.head, "/hf/:owner/:name/resolve/:revision/**", .read, dialect: dialect) { request, context, _ in
            try await download(request, context: context, headOnly: true)
        }
        routes.on(.get, "/hf/:owner/:name/resolve/:revision/**", .read, dialect: dialect) { request, context, _ in
            try await download(request, context: context, headOnly: false)
        }
    }

    /// The version a revision names, refused unless it may be served.
    private func resolve(_ context: AppContext) async throws -> (ModelName, VersionInfo) {
        guard let model = try APIRoutes.model(from: context) else { throw HubError.repoNotFound }
        let revision = try context.parameters.require("revision")
        let text = revision.removingPercentEncoding ?? revision
        let version = try await HubRevisions(store: store).version(model, revision: text)
        switch version.state {
        case .ready, .archived:
            return (model, version)
        case .quarantined:
            let reasons = version.findings.map { "\($0.path.map { "\($0): " } ?? "")\($0.message)" }.joined(separator: "; ")
            throw HubError.refused("\(model):\(version.version) is quarantined (\(reasons)); Vessel does not serve it through the Hub protocol, `vessel pull \(model):\(version.version) --allow-quarantined` fetches it anyway")
        default:
            throw HubError.revisionNotFound("\(model):\(version.version) is \(version.state.rawValue)")
        }
    }

    private func download(_ request: Request, context: AppContext, headOnly: Bool) async throws -> Response {
        let (_, version) = try await resolve(context)
        let commit = HubDialect.commit(version)
        let path = try HubDialect.path(context)
        guard let entry = version.manifest?.first(where: { $0.path == path }) else {
            throw HubError.entryNotFound(commit: commit, "\(version.model):\(version.version) holds no file '\(path)'")
        }
        let etag = "\"\(entry.digest)\""
        var headers: HTTPFields = [
            .eTag: etag, HubDialect.linkedEtag: "\"\(entry.digest.hex)\"", HubDialect.linkedSize: String(entry.size),
            HubDialect.repoCommit: commit, .acceptRanges: "bytes", .contentType: "application/octet-stream",
            .cacheControl: "private, max-age=31536000, immutable",
        ]
        if let match = request.headers[.ifNoneMatch], match == etag || match == "*" {
            return Response(status: .notModified, headers: headers)
        }
        if let redirect, entry.size > 0 {
            // The Hub's own answer for large files: a 302 to storage, read by the client for its
            // headers (X-Repo-Commit, X-Linked-Etag, X-Linked-Size) and followed without the token.
            headers[.location] = redirect(entry.digest)
            headers[.cacheControl] = "no-store"
            return Response(status: .found, headers: headers, body: ResponseBody())
        }
        var range: Range<UInt64>? = nil
        var status = HTTPResponse.Status.ok
        if let header = request.headers[.range], entry.size > 0 {
            range = try ByteRange.parse(header, size: entry.size)
            status = .partialContent
            if let range { headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(entry.size)" }
        }
        let length = range.map { UInt64($0.count) } ?? entry.size
        headers[.contentLength] = String(length)
        if headOnly || length == 0 { return Response(status: status, headers: headers, body: ResponseBody()) }
        let chunks = try await blobs.read(entry.digest, range: range)
        return Response(status: status, headers: headers, body: metrics.countingBody(chunks, model: "\(version.model)"))
    }
}

/// How a Hub revision names a version.
struct HubRevisions {
    let store: any ModelStore & VersionStore

    /// A 40-hex commit id, then an alias, then `main` (the latest ready version when no alias
    /// has that name), then a version number.
    func version(_ model: ModelName, revision: String) async throws -> VersionInfo {
        do {
            _ = try await store.model(model)
        } catch let error as VesselError where error.code == .notFound {
            throw HubError.repoNotFound
        }
        if HubDialect.isCommit(revision) { return try await byCommit(model, revision) }
        if let alias = try? AliasName(revision) {
            do {
                return try await store.resolve(Reference(model: model, selector: .alias(alias)))
            } catch let error as VesselError where error.code == .notFound {
                guard revision == "main" else { throw HubError.revisionNotFound("\(model) has no alias '\(revision)'") }
            }
            do {
                return try await store.resolve(Reference(model: model, selector: .latest))
            } catch let error as VesselError where error.code == .notFound {
                throw HubError.revisionNotFound("\(model) has no ready version (revision 'main' is the alias main, else the latest ready version)")
            }
        }
        if let number = Int(revision), number > 0, String(number) == revision {
            do {
                return try await store.resolve(Reference(model: model, selector: .version(number)))
            } catch let error as VesselError where error.code == .notFound {
                throw HubError.revisionNotFound("\(model) has no version \(number)")
            }
        }
        throw HubError.revisionNotFound("'\(revision.prefix(100))' is no alias, version number or commit id of \(model)")
    }

    /// The version whose digest begins with `commit`. Versions with the same digest hold the same
    /// files' contents; a servable one (the newest) wins over a quarantined one.
    private func byCommit(_ model: ModelName, _ commit: String) async throws -> VersionInfo {
        var cursor: String? = nil
        var found: [VersionInfo] = []
        repeat {
            let page = try await store.listVersions(model: model, filter: VersionFilter(), limit: Limits.pageSize, cursor: cursor)
            found += page.items.filter { $0.digest.hex.hasPrefix(commit) }
            cursor = page.nextCursor
        } while cursor != nil
        let chosen = found.sorted { $0.version > $1.version }.first { $0.state != .quarantined } ?? found.first
        guard let chosen else { throw HubError.revisionNotFound("\(model) has no version with commit id \(commit)") }
        return try await store.resolve(Reference(model: model, selector: .version(chosen.version)))
    }
}

/// The Hub's errors: the client reads `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`,
/// `EntryNotFound`, `GatedRepo`) and shows `X-Error-Message` and a JSON `"error"` string.
enum HubError: Error {
    /// No such model, or one the caller may not read (the same answer for both).
    case repoNotFound
    case revisionNotFound(String)
    /// With the commit, so the client caches the miss.
    case entryNotFound(commit: String, String)
    /// A version that exists but is not served (quarantined): `GatedRepo`, the one refusal the
    /// client raises as itself, with Vessel's reason, from both `snapshot_download` and
    /// `hf_hub_download` (docs/decisions/0023-hugging-face-hub.md).
    case refused(String)
}

enum HubDialect {
    static let repoCommit = HTTPFields.Element.Name("X-Repo-Commit")!
    static let linkedEtag = HTTPFields.Element.Name("X-Linked-Etag")!
    static let linkedSize = HTTPFields.Element.Name("X-Linked-Size")!
    static let errorCode = HTTPFields.Element.Name("X-Error-Code")!
    static let errorMessage = HTTPFields.Element.Name("X-Error-Message")!

    static let notFoundMessage = "Repository not found: no such model, or the token may not read it"

    /// Repo ids are matched case-insensitively (Vessel's names are lowercase); errors in the
    /// Hub's shape.
    static let dialect = RouteDialect(
        prepare: { context in
            for key in ["owner", "name"] as [Substring] {
                if let value = context.coreContext.parameters[key] { context.coreContext.parameters[key] = Substring(value.lowercased()) }
            }
        },
        answer: { error, request, context in answer(error, request: request, context: context) }
    )

    static func isCommit(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// A version's commit id: the first 40 hex digits of its digest.
    static func commit(_ version: VersionInfo) -> String { String(version.digest.hex.prefix(40)) }

    /// The file path after the revision, percent-decoded.
    static func path(_ context: AppContext) throws -> String {
        let parts = context.parameters.getCatchAll().map { $0.removingPercentEncoding ?? String($0) }
        return parts.joined(separator: "/")
    }

    static func json<T: Encodable>(_ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func answer(_ error: any Error, request: Request, context: AppContext) -> Response? {
        switch error {
        case let error as HubError:
            switch error {
            case .repoNotFound: return respond(.notFound, code: "RepoNotFound", notFoundMessage)
            case .revisionNotFound(let message): return respond(.notFound, code: "RevisionNotFound", message)
            case .entryNotFound(let commit, let message): return respond(.notFound, code: "EntryNotFound", message, commit: commit)
            case .refused(let message): return respond(.forbidden, code: "GatedRepo", message)
            }
        case let error as VesselError:
            switch error.code {
            case .forbidden: return respond(.notFound, code: "RepoNotFound", notFoundMessage)
            case .invalidArgument where (try? APIRoutes.model(from: context)) == nil:
                return respond(.notFound, code: "RepoNotFound", notFoundMessage)
            case .unauthenticated:
                // The Hub's words for a token it does not know, which the client raises as a 401
                // (other 401s on API routes read as RepoNotFound); Vessel's reason in the body.
                let known = request.headers[.authorization] != nil
                var response = known
                    ? respond(.unauthorized, code: nil, error.message, header: "Invalid credentials in Authorization header")
                    : respond(.unauthorized, code: nil, "this model needs a token: pass token=... or set HF_TOKEN to a Vessel token (\(error.message))")
                response.headers[.wwwAuthenticate] = "Bearer realm=\"vessel\""
                return response
            default:
                var response = respond(HTTPResponse.Status(code: error.code.httpStatus), code: nil, error.message)
                if let seconds = error.retryAfter { response.headers[.retryAfter] = String(seconds) }
                return response
            }
        case let error as HTTPError:
            return respond(error.status, code: nil, error.body ?? error.status.reasonPhrase)
        default:
            return nil
        }
    }

    /// - Parameter header: the `X-Error-Message`, when it differs from the body's message.
    private static func respond(_ status: HTTPResponse.Status, code: String?, _ message: String, commit: String? = nil, header: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let code { headers[errorCode] = code }
        headers[errorMessage] = String((header ?? message).unicodeScalars.map { (32...126).contains($0.value) ? Character($0) : " " })
        if let commit { headers[repoCommit] = commit }
        let body = (try? JSONEncoder().encode(["error": message])) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// `GET /api/models/{repo}/revision/{rev}`: the client needs `id` and `sha`.
struct HubRepoInfo: Encodable {
    var id: String
    var modelId: String
    var sha: String
    var `private` = true
    var disabled = false
    var gated = false
    var tags: [String] = []
    var siblings: [Sibling]
    var vessel: VesselVersion

    struct Sibling: Encodable {
        var rfilename: String
    }

    /// Vessel's own names for the version served, for people reading the answer.
    struct VesselVersion: Encodable {
        var version: Int
        var digest: String
        var state: String
    }

    init(model: ModelName, version: VersionInfo) {
        id = model.description
        modelId = model.description
        sha = HubDialect.commit(version)
        siblings = (version.manifest ?? []).map { Sibling(rfilename: $0.path) }
        vessel = VesselVersion(version: version.version, digest: version.digest.description, state: version.state.rawValue)
    }
}

/// `GET /api/models/{repo}/tree/{rev}[/{path}]?recursive=true`: every file (with its SHA-256 as
/// the LFS oid, which is also the blob name the client keeps) and every folder, recursively.
struct HubTree: Encodable {
    var type: String
    var path: String
    var oid: String
    var size: UInt64?
    var lfs: LFS?

    struct LFS: Encodable {
        var oid: String
        var size: UInt64
        var pointerSize: Int
    }

    static func entries(_ manifest: [ManifestEntry], under folder: String) -> [HubTree] {
        let prefix = folder.isEmpty ? "" : folder.hasSuffix("/") ? folder : folder + "/"
        var folders: Set<String> = []
        var out: [HubTree] = []
        for entry in manifest where entry.path.hasPrefix(prefix) {
            var parts = entry.path.dropFirst(prefix.count).split(separator: "/").dropLast()
            while !parts.isEmpty {
                folders.insert(prefix + parts.joined(separator: "/"))
                parts = parts.dropLast()
            }
            out.append(HubTree(type: "file", path: entry.path, oid: String(entry.digest.hex.prefix(40)), size: entry.size,
                               lfs: LFS(oid: entry.digest.hex, size: entry.size, pointerSize: 134)))
        }
        for folder in folders {
            // Not git's tree id (there is no git tree); the client only keeps it.
            let id = VesselCore.Digest(bytes: SHA256.hash(data: Array(folder.utf8))).hex
            out.append(HubTree(type: "directory", path: folder, oid: String(id.prefix(40)), size: nil, lfs: nil))
        }
        return out.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }
}
