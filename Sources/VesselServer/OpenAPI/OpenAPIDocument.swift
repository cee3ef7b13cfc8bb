import Foundation
import Hummingbird
import NIOCore
import NIOFoundationCompat
import VesselCore

/// The OpenAPI 3.1 document of `/api/v1` (served at `GET /api/v1/openapi.json`, copied to
/// docs/openapi.json). Every operation names the route's `Permission`; `OpenAPIDocumentTests`
/// fails when a route of `APIRoutes` is missing here, or differs in its permission.
/// The Hugging Face (`/hf`) and MLflow (`/api/2.0`) routes are described by their own projects.
enum OpenAPIDocument {
    /// A JSON Schema, written small.
    indirect enum Schema: Sendable {
        case ref(String)
        case string, integer, number, boolean, any
        /// An object of string keys to one kind of value.
        case map(Schema)
        case enumeration([String])
        case array(Schema)
        case object([(String, Schema)], required: [String] = [])
        case nullable(Schema)
        case page(Schema)

        var json: [String: Any] {
            switch self {
            case .ref(let name): ["$ref": "#/components/schemas/\(name)"]
            case .string: ["type": "string"]
            case .integer: ["type": "integer"]
            case .number: ["type": "number"]
            case .map(let value): ["type": "object", "additionalProperties": value.json]
            case .boolean: ["type": "boolean"]
            case .any: [:]
            case .enumeration(let values): ["type": "string", "enum": values]
            case .array(let item): ["type": "array", "items": item.json]
            case .object(let properties, let required):
                ["type": "object", "properties": Dictionary(uniqueKeysWithValues: properties.map { ($0.0, $0.1.json) }), "required": required]
            case .nullable(let inner): ["anyOf": [inner.json, ["type": "null"]]]
            case .page(let item):
                Schema.object([("items", .array(item)), ("next_cursor", .nullable(.string))], required: ["items", "next_cursor"]).json
            }
        }
    }

    /// A query parameter.
    struct Query: Sendable {
        let name: String
        var schema: Schema = .string
        var description = ""
    }

    /// One route of `/api/v1`.
    struct Operation: Sendable {
        let method: String
        /// In the route table's syntax (`:owner`).
        let path: String
        let permission: Permission
        let summary: String
        var query: [Query] = []
        /// nil: no body; `.binary`: raw bytes.
        var body: Body? = nil
        /// The success answer's JSON (nil: no JSON body described).
        var response: Schema? = nil
    }

    enum Body: Sendable {
        case json(Schema)
        case binary
    }

    static let paging = [Query(name: "limit", schema: .integer, description: "items per page (1…1000)"),
                         Query(name: "cursor", description: "the `next_cursor` of the previous page")]

    /// The loose schema of a resource whose fields are not listed here yet: a JSON object.
    static let object = Schema.object([])

    static let operations: [Operation] = [
        Operation(method: "GET", path: "/api/v1/openapi.json", permission: .anonymous, summary: "This document.", response: object),
        Operation(method: "GET", path: "/api/v1/whoami", permission: .authenticated, summary: "The caller's principal.", response: .ref("WhoAmI")),
        Operation(method: "GET", path: "/api/v1/principals", permission: .admin, summary: "List principals.", query: paging, response: .page(.ref("Principal"))),
        Operation(method: "POST", path: "/api/v1/principals", permission: .admin, summary: "Create a principal.",
                  body: .json(.object([("name", .string), ("kind", .enumeration(["user", "service"])), ("cert_subjects", .nullable(.array(.string)))], required: ["name", "kind"])),
                  response: .ref("Principal")),
        Operation(method: "GET", path: "/api/v1/tokens", permission: .admin, summary: "List tokens.", query: paging, response: .page(.ref("Token"))),
        Operation(method: "POST", path: "/api/v1/tokens", permission: .admin, summary: "Create a token for a principal (the secret is shown once).",
                  body: .json(.object([("principal", .string), ("name", .nullable(.string)), ("expires_in_seconds", .nullable(.integer))], required: ["principal"])),
                  response: .ref("CreatedToken")),
        Operation(method: "DELETE", path: "/api/v1/tokens/:id", permission: .admin, summary: "Revoke a token."),
        Operation(method: "GET", path: "/api/v1/audit", permission: .admin, summary: "The audit log, oldest first; of one model, actor or action (or action family) when given.", query: paging + [Query(name: "model"), Query(name: "actor"), Query(name: "action")], response: .page(.ref("AuditEntry"))),
        Operation(method: "GET", path: "/api/v1/policies", permission: .read, summary: "The registry's policies.", query: paging, response: .page(.ref("FormatPolicy"))),
        Operation(method: "PUT", path: "/api/v1/policies", permission: .admin, summary: "Replace the registry's policies.",
                  body: .json(.object([("scope", .string), ("formats", .array(.string))], required: ["scope", "formats"])), response: .ref("FormatPolicy")),
        Operation(method: "GET", path: "/api/v1/audit/verify", permission: .admin, summary: "Verify the audit log's hash chain.", response: .ref("AuditVerification")),
        Operation(method: "POST", path: "/api/v1/admin/fsck", permission: .admin, summary: "Check metadata against storage.",
                  body: .json(.object([("rehash", .boolean), ("jobs", .nullable(.integer)), ("quarantine_damaged", .boolean)])), response: .ref("FsckReport")),
        Operation(method: "POST", path: "/api/v1/admin/backup", permission: .admin, summary: "Write a backup.", body: .json(.object([("to", .string)], required: ["to"])), response: .ref("BackupReport")),
        Operation(method: "GET", path: "/api/v1/models", permission: .authenticated, summary: "Search the models the caller may read.",
                  query: paging + [Query(name: "search"), Query(name: "owner"), Query(name: "tag"), Query(name: "sort")], response: .page(.ref("Model"))),
        Operation(method: "GET", path: "/api/v1/versions", permission: .authenticated, summary: "Search versions across readable models.", query: paging, response: .page(.ref("Version"))),
        Operation(method: "PATCH", path: "/api/v1/models/:owner/:name", permission: .write, summary: "Update a model's description or tags.",
                  body: .json(.object([("description", .nullable(.string)), ("add_tags", .nullable(.array(.string))), ("remove_tags", .nullable(.array(.string)))])), response: .ref("Model")),
        Operation(method: "PATCH", path: "/api/v1/models/:owner/:name/versions/:version", permission: .write, summary: "Update a version's description.",
                  body: .json(.object([("description", .string)], required: ["description"])), response: .ref("Version")),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name", permission: .write, summary: "Create a model.",
                  body: .json(.object([("description", .nullable(.string)), ("tags", .nullable(.array(.string)))])), response: .ref("Model")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name", permission: .read, summary: "A model.", response: .ref("Model")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/versions", permission: .read, summary: "A model's versions.", query: paging, response: .page(.ref("Version"))),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/versions/:version", permission: .read, summary: "A version with its manifest.", response: .ref("Version")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/latest", permission: .read, summary: "The latest ready version.", response: .ref("Version")),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/versions/:version/archive", permission: .write, summary: "Archive a version.", response: .ref("Version")),
        Operation(method: "DELETE", path: "/api/v1/models/:owner/:name/versions/:version", permission: .write, summary: "Delete a version."),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/drafts", permission: .write, summary: "Start a push: the manifest; the answer names missing blobs.",
                  body: .json(.object([("files", .array(.object([("path", .string), ("size", .integer), ("digest", .string), ("media_type", .nullable(.string))],
                                                                 required: ["path", "size", "digest"]))),
                                       ("description", .nullable(.string)),
                                       ("lineage", .nullable(.object([("run", .nullable(.string)), ("requirements", .nullable(requirementsUpload)), ("image", .nullable(.string))])))],
                                      required: ["files"])),
                  response: .object([("draft_id", .string), ("missing", .array(.string))], required: ["draft_id", "missing"])),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/drafts/:draft/commit", permission: .write, summary: "Commit a draft into a version.", response: .ref("Version")),
        Operation(method: "PUT", path: "/api/v1/models/:owner/:name/blobs/:digest", permission: .write, summary: "Upload a blob in one request.", body: .binary, response: .ref("UploadedBlob")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/blobs/:digest", permission: .read, summary: "Download a blob (honours Range; may redirect to storage)."),
        Operation(method: "HEAD", path: "/api/v1/models/:owner/:name/blobs/:digest", permission: .read, summary: "Whether a blob exists, and its size."),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/aliases", permission: .read, summary: "A model's aliases.", query: paging, response: .page(.ref("Alias"))),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/aliases/:alias", permission: .read, summary: "An alias.", response: .ref("Alias")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/aliases/:alias/version", permission: .read, summary: "The version an alias points to.", response: .ref("Version")),
        Operation(method: "PUT", path: "/api/v1/models/:owner/:name/aliases/:alias", permission: .write, summary: "Point an alias at a version (a protected alias's rules apply).",
                  body: .json(.object([("version", .integer), ("expect_current", .nullable(.integer)), ("expect_absent", .nullable(.boolean)), ("reason", .nullable(.string))], required: ["version"])),
                  response: .ref("Alias")),
        Operation(method: "DELETE", path: "/api/v1/models/:owner/:name/aliases/:alias", permission: .write, summary: "Remove an alias."),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/promote", permission: .write, summary: "Promote a version to an alias (applied, pending or refused).",
                  body: .json(.object([("version", .integer), ("to", .string), ("expect_current", .nullable(.integer)), ("expect_absent", .nullable(.boolean)), ("reason", .nullable(.string))], required: ["version", "to"])),
                  response: .ref("PromotionResult")),
        Operation(method: "GET", path: "/api/v1/grants", permission: .admin, summary: "List grants.", query: paging + [Query(name: "principal")], response: .page(.ref("Grant"))),
        Operation(method: "POST", path: "/api/v1/grants", permission: .admin, summary: "Grant a role on a scope.", body: .json(.object([("principal", .string), ("role", .ref("Role")), ("scope", .string)], required: ["principal", "role", "scope"])), response: .ref("Grant")),
        Operation(method: "POST", path: "/api/v1/grants/revoke", permission: .admin, summary: "Revoke a grant.", body: .json(.object([("principal", .string), ("role", .ref("Role")), ("scope", .string)], required: ["principal", "role", "scope"]))),
        Operation(method: "GET", path: "/api/v1/protections", permission: .authenticated, summary: "Protected aliases and their rules.", query: paging, response: .page(.ref("Protection"))),
        Operation(method: "PUT", path: "/api/v1/protections", permission: .admin, summary: "Protect an alias.",
                  body: .json(.object([("scope", .string), ("alias", .string), ("role", .ref("Role")), ("require_approval", .boolean), ("gates", .array(.string))],
                                      required: ["scope", "alias", "role", "require_approval", "gates"])), response: .ref("Protection")),
        Operation(method: "POST", path: "/api/v1/protections/remove", permission: .admin, summary: "Remove an alias's protection.", body: .json(.object([("scope", .string), ("alias", .string)], required: ["scope", "alias"]))),
        Operation(method: "GET", path: "/api/v1/requests", permission: .admin, summary: "Promotion requests.", query: paging, response: .page(.ref("PromotionRequest"))),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/requests", permission: .read, summary: "A model's promotion requests.", query: paging, response: .page(.ref("PromotionRequest"))),
        Operation(method: "POST", path: "/api/v1/requests/:id/approve", permission: .authenticated, summary: "Approve a request (maintainer on its model); a deploy's is judged against the agents' reported environments again (409 incompatible unless force_incompatible).",
                  body: .json(.object([("reason", .nullable(.string)), ("force_incompatible", .nullable(.boolean))])), response: .ref("PromotionResult")),
        Operation(method: "POST", path: "/api/v1/requests/:id/reject", permission: .authenticated, summary: "Reject a request (maintainer on its model).",
                  body: .json(.object([("reason", .nullable(.string))])), response: .ref("PromotionResult")),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/versions/:version/checks", permission: .write, summary: "Report a check's result on a version.",
                  body: .json(.object([("name", .string), ("status", .string), ("metrics", .map(.number)), ("url", .nullable(.string))], required: ["name", "status", "metrics"])),
                  response: .ref("Check")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/aliases/:alias/history", permission: .read, summary: "An alias's moves.", query: paging, response: .page(.ref("AliasHistoryEntry"))),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/aliases/:alias/resolve", permission: .read, summary: "The version an alias pointed to at a time.",
                  query: [Query(name: "at")], response: .ref("ResolvedAlias")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/audit", permission: .maintain, summary: "A model's audit log, oldest first; of one actor or action (or action family) when given.", query: paging + [Query(name: "actor"), Query(name: "action")], response: .page(.ref("AuditEntry"))),
        Operation(method: "GET", path: "/api/v1/deployments", permission: .authenticated, summary: "Deployments of readable models.", query: paging + [Query(name: "env")], response: .page(.ref("Deployment"))),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/deployments", permission: .read, summary: "A model's deployments.", query: paging, response: .page(.ref("Deployment"))),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/deployments/:env", permission: .read, summary: "A deployment (long-poll with `wait` and `after`).",
                  query: [Query(name: "wait"), Query(name: "after")], response: .ref("Deployment")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/deployments/:env/history", permission: .read, summary: "A deployment's history.", query: paging, response: .page(.ref("DeploymentHistoryEntry"))),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/deployments/:env", permission: .write, summary: "Deploy a version to an environment (applied, pending or refused).",
                  body: .json(.object([("version", .integer), ("steps", .nullable(.array(.integer))), ("smoke", .nullable(.array(.string))),
                                       ("max_error_rate", .nullable(.number)), ("max_p99_ms", .nullable(.number)), ("min_requests", .nullable(.integer)),
                                       ("replace", .nullable(.boolean)), ("expect_revision", .nullable(.integer)), ("reason", .nullable(.string)),
                                       ("force_incompatible", .nullable(.boolean))], required: ["version"])),
                  response: .ref("DeploymentResult")),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/deployments/:env/advance", permission: .write, summary: "Advance a rollout.", body: .json(.object([("expect_revision", .nullable(.integer)), ("reason", .nullable(.string))])), response: .ref("DeploymentResult")),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/deployments/:env/rollback", permission: .write, summary: "Roll a deployment back.", body: .json(.object([("expect_revision", .nullable(.integer)), ("reason", .nullable(.string))])), response: .ref("DeploymentResult")),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/deployments/:env/reports", permission: .write, summary: "Report a rollout's health.",
                  body: .json(.object([("slot", deploymentSlot), ("digest", .nullable(.string)), ("requests", .integer), ("errors", .integer), ("p99_ms", .nullable(.number))],
                                      required: ["slot", "requests", "errors"])),
                  response: .ref("DeploymentReportResult")),
        Operation(method: "PUT", path: "/api/v1/models/:owner/:name/deployments/:env/nodes/:node", permission: .read, summary: "A node's report of what it serves.",
                  body: .json(.object([("slot", .enumeration(NodeSlot.allCases.map(\.rawValue))), ("digest", .nullable(.string)), ("version", .nullable(.integer)),
                                       ("state", .enumeration(NodeState.allCases.map(\.rawValue))), ("message", .nullable(.string)),
                                       ("environment", .nullable(.object([("freeze", .nullable(.string)), ("image", .nullable(.string)),
                                                                          ("python_version", .nullable(.string)), ("platform", .nullable(.string))])))],
                                      required: ["slot", "state"])),
                  response: .ref("Node")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/deployments/:env/nodes", permission: .read, summary: "Nodes of a deployment and their drift.", query: paging, response: .page(.ref("Node"))),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/deployments/:env/endpoints", permission: .maintain, summary: "Add a serving endpoint.",
                  body: .json(.object([("url", .string), ("slot", .nullable(.enumeration(NodeSlot.allCases.map(\.rawValue))))], required: ["url"])), response: .ref("Endpoint")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/deployments/:env/endpoints", permission: .read, summary: "Serving endpoints.", query: paging, response: .page(.ref("Endpoint"))),
        Operation(method: "DELETE", path: "/api/v1/models/:owner/:name/deployments/:env/endpoints", permission: .maintain, summary: "Remove a serving endpoint.", query: [Query(name: "url")]),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/uploads", permission: .write, summary: "Start a resumable upload of a blob.",
                  body: .json(.object([("digest", .string), ("size", .integer)], required: ["digest", "size"])), response: .ref("UploadSession")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/uploads/:upload", permission: .write, summary: "An upload session.", response: .ref("UploadSession")),
        Operation(method: "PUT", path: "/api/v1/models/:owner/:name/uploads/:upload/chunks/:chunk", permission: .write, summary: "Upload one chunk.", body: .binary,
                  response: .object([("index", .integer), ("size", .integer), ("created", .boolean)], required: ["index", "size", "created"])),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/uploads/:upload/complete", permission: .write, summary: "Complete an upload.", response: .ref("UploadedBlob")),
        Operation(method: "DELETE", path: "/api/v1/models/:owner/:name/uploads/:upload", permission: .write, summary: "Abandon an upload."),
        Operation(method: "GET", path: "/api/v1/keys", permission: .admin, summary: "Trusted signing keys.", query: paging, response: .page(.ref("TrustedKey"))),
        Operation(method: "POST", path: "/api/v1/keys", permission: .admin, summary: "Trust a signing key.", body: .json(.object([("name", .string), ("public_key", .string)], required: ["name", "public_key"])), response: .ref("TrustedKey")),
        Operation(method: "DELETE", path: "/api/v1/keys/:key", permission: .admin, summary: "Distrust a signing key."),
        Operation(method: "POST", path: "/api/v1/models/:owner/:name/versions/:version/signatures", permission: .write, summary: "Attach a model-signing key bundle (kept as sent).", body: .json(object), response: .ref("Signature")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/versions/:version/signatures", permission: .read, summary: "A version's signatures.", query: paging, response: .page(.ref("Signature"))),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/versions/:version/signatures/:signature", permission: .read, summary: "A signature bundle, as it was attached (its format is model-signing's).", response: object),
        Operation(method: "POST", path: "/api/v1/webhooks", permission: .authenticated, summary: "Subscribe a webhook (maintainer on its scope).",
                  body: .json(.object([("url", .string), ("events", .nullable(.array(.string))), ("scope", .nullable(.string)),
                                       ("format", .nullable(.enumeration(["json", "slack"]))), ("secret", .nullable(.string))], required: ["url"])),
                  response: .ref("Webhook")),
        Operation(method: "GET", path: "/api/v1/webhooks", permission: .authenticated, summary: "Webhooks on scopes the caller maintains.", query: paging, response: .page(.ref("Webhook"))),
        Operation(method: "DELETE", path: "/api/v1/webhooks/:webhook", permission: .authenticated, summary: "Remove a webhook (maintainer on its scope)."),
        Operation(method: "GET", path: "/api/v1/retention", permission: .read, summary: "Retention rules.", query: paging + [Query(name: "scope")], response: .page(.ref("RetentionPolicy"))),
        Operation(method: "PUT", path: "/api/v1/retention", permission: .admin, summary: "Set a retention rule (durations like `30d`, `12h`).",
                  body: .json(.object([("scope", .string), ("keep_last", .nullable(.integer)), ("keep_for", .nullable(.string)),
                                       ("delete_quarantined_after", .nullable(.string)), ("drafts_expire_after", .nullable(.string))], required: ["scope"])),
                  response: .ref("RetentionPolicy")),
        Operation(method: "DELETE", path: "/api/v1/retention", permission: .admin, summary: "Remove a retention rule.", query: [Query(name: "scope")]),
        Operation(method: "GET", path: "/api/v1/holds", permission: .read, summary: "Versions on legal hold.", query: paging, response: .page(.ref("Hold"))),
        Operation(method: "GET", path: "/api/v1/datasets", permission: .authenticated, summary: "Datasets the caller may read (each one's latest revision).", query: paging, response: .page(.ref("DatasetRevision"))),
        Operation(method: "POST", path: "/api/v1/datasets/:owner/:name/revisions", permission: .write, summary: "Record a dataset revision.",
                  body: .json(.object([("uri", .string), ("digest", .nullable(.string)), ("size", .nullable(.integer)), ("from", .nullable(.array(.string))),
                                       ("description", .nullable(.string))], required: ["uri"])),
                  response: .ref("DatasetRevision")),
        Operation(method: "GET", path: "/api/v1/datasets/:owner/:name/revisions", permission: .read, summary: "A dataset's revisions.", query: paging, response: .page(.ref("DatasetRevision"))),
        Operation(method: "GET", path: "/api/v1/datasets/:owner/:name/revisions/:revision", permission: .read, summary: "A dataset revision.", response: .ref("DatasetRevision")),
        Operation(method: "GET", path: "/api/v1/datasets/:owner/:name/revisions/:revision/lineage", permission: .read, summary: "A revision's lineage graph.",
                  query: [Query(name: "direction"), Query(name: "depth", schema: .integer)], response: .ref("LineageGraph")),
        Operation(method: "GET", path: "/api/v1/runs", permission: .authenticated, summary: "The training runs the caller may read, newest first.",
                  query: paging + [Query(name: "owner"), Query(name: "id")], response: .page(.ref("Run"))),
        Operation(method: "POST", path: "/api/v1/runs/:owner/:name", permission: .write, summary: "Record a training run.",
                  body: .json(.object([("name", .nullable(.string)), ("git_repo", .nullable(.string)), ("git_commit", .nullable(.string)),
                                       ("config_name", .nullable(.string)), ("config", .nullable(.string)), ("params", .nullable(.map(.string))),
                                       ("metrics", .nullable(.map(.number))), ("datasets", .nullable(.array(.string))), ("image", .nullable(.string)),
                                       ("requirements", .nullable(requirementsUpload))])),
                  response: .ref("Run")),
        Operation(method: "GET", path: "/api/v1/runs/:owner/:name", permission: .read, summary: "A training run.", response: .ref("Run")),
        Operation(method: "GET", path: "/api/v1/runs/:owner/:name/lineage", permission: .read, summary: "A run's lineage graph.",
                  query: [Query(name: "direction"), Query(name: "depth", schema: .integer)], response: .ref("LineageGraph")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/versions/:version/lineage", permission: .read, summary: "A version's lineage graph.",
                  query: [Query(name: "direction"), Query(name: "depth", schema: .integer)], response: .ref("LineageGraph")),
        Operation(method: "GET", path: "/api/v1/models/:owner/:name/versions/:version/environment", permission: .read, summary: "A version's runtime environment.", response: .ref("VersionEnvironment")),
        Operation(method: "PUT", path: "/api/v1/models/:owner/:name/versions/:version/hold", permission: .maintain, summary: "Put a version on legal hold.", body: .json(.object([("reason", .string)], required: ["reason"])), response: .ref("Hold")),
        Operation(method: "DELETE", path: "/api/v1/models/:owner/:name/versions/:version/hold", permission: .maintain, summary: "Release a legal hold."),
        Operation(method: "POST", path: "/api/v1/admin/gc", permission: .admin, summary: "Run garbage collection.", body: .json(.object([("dry_run", .boolean)])), response: .ref("GCReport")),
        Operation(method: "GET", path: "/api/v1/admin/gc", permission: .admin, summary: "The last garbage collection runs.", query: [Query(name: "limit", schema: .integer, description: "runs (1…100)")], response: .page(.ref("GCRun"))),
        Operation(method: "POST", path: "/api/v1/webhooks/:webhook/test", permission: .authenticated, summary: "Send a test event.", response: .object([("event_id", .string)], required: ["event_id"])),
        Operation(method: "GET", path: "/api/v1/webhooks/:webhook/deliveries", permission: .authenticated, summary: "A webhook's deliveries.", query: paging, response: .page(.ref("DeliveryAttempt"))),
        Operation(method: "POST", path: "/api/v1/events/:event/redeliver", permission: .authenticated, summary: "Deliver an event again.",
                  body: .json(.object([("webhook", .nullable(.string))])),
                  response: .object([("event_id", .string), ("webhooks", .array(.string))], required: ["event_id", "webhooks"])),
    ] + peerOperations

    static let components: [String: Schema] = [
        "WhoAmI": .object([("principal", .string), ("kind", .enumeration(["user", "service"]))], required: ["principal", "kind"]),
        "Principal": .object([("name", .string), ("kind", .enumeration(["user", "service"])), ("created_at", .string)], required: ["name", "kind", "created_at"]),
        "Token": .object([("id", .string), ("name", .nullable(.string)), ("principal", .string), ("created_at", .string),
                          ("expires_at", .nullable(.string)), ("revoked_at", .nullable(.string))], required: ["id", "principal", "created_at"]),
        "CreatedToken": .object([("id", .string), ("token", .string), ("principal", .string), ("expires_at", .nullable(.string))], required: ["id", "token", "principal"]),
        "Model": .object([("model", .string), ("description", .string), ("tags", .array(.string)), ("created_at", .string), ("created_by", .string),
                          ("latest_version", .nullable(.integer)), ("versions", .integer), ("updated_at", .nullable(.string))],
                         required: ["model", "description", "tags", "created_at", "created_by", "versions"]),
        "Version": .object([("model", .string), ("version", .integer), ("digest", .string), ("manifest_digest", .string),
                            ("state", .enumeration(["pending", "ready", "quarantined", "archived"])), ("files", .integer), ("size", .integer),
                            ("description", .string), ("created_at", .string), ("created_by", .string), ("aliases", .array(.string)),
                            ("findings", .array(.object([("validator", .string), ("code", .string), ("message", .string), ("path", .nullable(.string))],
                                                        required: ["validator", "code", "message"]))),
                            ("manifest", .nullable(.array(.object([("path", .string), ("size", .integer), ("digest", .string), ("media_type", .string)],
                                                                  required: ["path", "size", "digest", "media_type"]))))],
                           required: ["model", "version", "digest", "state", "files", "size", "created_at", "created_by", "aliases"]),
        "Alias": .object([("model", .string), ("alias", .string), ("version", .integer), ("digest", .string), ("updated_at", .string), ("updated_by", .string)],
                         required: ["model", "alias", "version", "digest", "updated_at", "updated_by"]),
        "Role": .enumeration(Role.allCases.map(\.rawValue)),
        "Grant": .object([("principal", .string), ("role", .ref("Role")), ("scope", .string), ("created_at", .string), ("created_by", .string)],
                         required: ["principal", "role", "scope", "created_at", "created_by"]),
        "Protection": .object([("scope", .string), ("alias", .string), ("role", .ref("Role")), ("require_approval", .boolean), ("gates", .array(.string)),
                               ("updated_at", .string), ("updated_by", .string)], required: ["scope", "alias", "role", "require_approval", "gates", "updated_at", "updated_by"]),
        "PromotionResult": .object([("status", .enumeration(["applied", "pending", "refused"])), ("request_id", .nullable(.string)),
                                    ("failures", .array(.object([("rule", .string), ("message", .string)], required: ["rule", "message"]))),
                                    ("model", .string), ("alias", .string), ("version", .integer)], required: ["status", "failures", "model", "alias", "version"]),
        "PromotionRequest": .object([("id", .string), ("model", .string), ("kind", .string), ("alias", .string), ("version", .integer), ("digest", .string),
                                     ("status", .string), ("requested_by", .string), ("reason", .nullable(.string)), ("created_at", .string),
                                     ("decided_by", .nullable(.string)), ("decided_at", .nullable(.string)), ("decision_reason", .nullable(.string))],
                                    required: ["id", "model", "kind", "alias", "version", "digest", "status", "requested_by", "created_at"]),
        "Check": .object([("model", .string), ("version", .integer), ("digest", .string), ("manifest_digest", .string), ("name", .string), ("status", .string),
                          ("metrics", .map(.number)), ("url", .nullable(.string)), ("reported_by", .string), ("reported_at", .string)],
                         required: ["model", "version", "digest", "manifest_digest", "name", "status", "metrics", "reported_by", "reported_at"]),
        "ResolvedAlias": .object([("model", .string), ("alias", .string), ("version", .integer), ("digest", .string)], required: ["model", "alias", "version", "digest"]),
        "AliasHistoryEntry": .object([("seq", .integer), ("time", .string), ("actor", .string), ("action", .string), ("from_version", .nullable(.integer)),
                                      ("to_version", .nullable(.integer)), ("reason", .nullable(.string))], required: ["seq", "time", "actor", "action"]),
        "AuditEntry": .object([("seq", .integer), ("time", .string), ("actor", .string), ("action", .string), ("target", .string), ("model", .nullable(.string)),
                               ("before", .nullable(.string)), ("after", .nullable(.string)), ("request_id", .nullable(.string)), ("reason", .nullable(.string)),
                               ("prev_hash", .string), ("hash", .string), ("credential", .nullable(.string)), ("client_address", .nullable(.string))],
                              required: ["seq", "time", "actor", "action", "target", "prev_hash", "hash"]),
        "AuditVerification": .object([("ok", .boolean), ("entries", .integer), ("broken_at", .nullable(.integer)), ("reason", .nullable(.string))], required: ["ok", "entries"]),
        "FsckReport": .object([("ok", .boolean), ("versions", .integer), ("files", .integer), ("blobs", .integer), ("bytes_hashed", .integer), ("rehashed", .boolean),
                               ("findings", .array(.object([("model", .string), ("version", .integer), ("path", .string), ("digest", .string), ("problem", .string),
                                                            ("detail", .string), ("state", .string)], required: ["model", "version", "path", "digest", "problem", "detail", "state"]))),
                               ("quarantined", .array(.string)),
                               ("orphans", .nullable(.array(.object([("digest", .string), ("size", .integer), ("problem", .nullable(.string))], required: ["digest", "size"])))),
                               ("expired_drafts", .array(.object([("model", .string), ("draft_id", .string), ("created_at", .string)], required: ["model", "draft_id", "created_at"]))),
                               ("expired_upload_sessions", .array(.object([("id", .string), ("model", .string), ("digest", .string), ("expires_at", .string)],
                                                                          required: ["id", "model", "digest", "expires_at"]))),
                               ("audit", .ref("AuditVerification"))],
                              required: ["ok", "versions", "files", "blobs", "bytes_hashed", "rehashed", "findings", "quarantined", "expired_drafts", "expired_upload_sessions", "audit"]),
        "BackupReport": .object([("format", .integer), ("directory", .string), ("snapshot_at", .string), ("metadata_included", .boolean), ("blobs_included", .boolean),
                                 ("audit_seq", .integer), ("audit_hash", .string), ("models", .integer), ("versions", .integer), ("aliases", .integer), ("blobs", .integer),
                                 ("blob_bytes", .integer), ("missing_blobs", .array(.string)), ("blobs_copied", .integer), ("bytes_copied", .integer), ("notes", .array(.string))],
                                required: ["format", "directory", "snapshot_at", "audit_seq", "models", "versions", "blobs"]),
        "UploadSession": .object([("upload_id", .string), ("digest", .string), ("size", .integer), ("chunk_size", .integer), ("chunks", .integer),
                                  ("received", .array(.integer)), ("next_chunk", .nullable(.integer)), ("expires_at", .string)],
                                 required: ["upload_id", "digest", "size", "chunk_size", "chunks", "received", "expires_at"]),
        "UploadedBlob": .object([("digest", .string), ("size", .integer), ("created", .boolean)], required: ["digest", "size", "created"]),
        "TrustedKey": .object([("name", .string), ("hint", .string), ("curve", .string), ("public_key", .string), ("created_at", .string), ("created_by", .string)],
                              required: ["name", "hint", "curve", "public_key", "created_at", "created_by"]),
        "RetentionPolicy": .object([("scope", .string), ("keep_last", .nullable(.integer)), ("keep_for_seconds", .nullable(.integer)),
                                    ("delete_quarantined_after_seconds", .nullable(.integer)), ("drafts_expire_after_seconds", .nullable(.integer)),
                                    ("updated_at", .string), ("updated_by", .string)], required: ["scope", "updated_at", "updated_by"]),
        "Hold": .object([("model", .string), ("version", .integer), ("reason", .string), ("created_at", .string), ("created_by", .string)],
                        required: ["model", "version", "reason", "created_at", "created_by"]),
        "GCReport": .object([("versions", .array(.object([("model", .string), ("version", .integer), ("reason", .string)], required: ["model", "version", "reason"]))),
                             ("drafts", .integer), ("blobs", .integer), ("bytes", .integer), ("dry_run", .boolean), ("started_at", .string), ("duration_ms", .integer),
                             ("sweep_skipped", .nullable(.string))], required: ["versions", "drafts", "blobs", "bytes", "dry_run", "started_at", "duration_ms"]),
        "GCRun": .object([("started_at", .string), ("duration_ms", .integer), ("dry_run", .boolean), ("versions", .integer), ("drafts", .integer), ("blobs", .integer),
                          ("bytes", .integer)], required: ["started_at", "duration_ms", "dry_run", "versions", "drafts", "blobs", "bytes"]),
        "FormatPolicy": .object([("scope", .string), ("formats", .array(.string)), ("updated_at", .string), ("updated_by", .string)],
                                required: ["scope", "formats", "updated_at", "updated_by"]),
        "Error": .object([("error", .object([("code", .enumeration(ErrorCode.allCases.map(\.rawValue))), ("message", .string), ("details", .nullable(.array(.string)))],
                                            required: ["code", "message", "details"]))], required: ["error"]),
    ].merging(peerComponents) { first, _ in first }.merging(fieldComponents) { first, _ in first }

    static let description = """
        Vessel's registry API. Every error answer is the object of docs/errors.md (`Error`). Each operation names the \
        permission it needs in `x-vessel-permission` (anonymous, authenticated, read, write, maintain, admin; docs/api.md). \
        The Hugging Face Hub protocol under /hf and the MLflow registry API under /api/2.0 are not described here \
        (docs/huggingface.md, docs/mlflow.md).
        """

    /// `:owner` → `{owner}`.
    static func openAPIPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
    }

    static func operationJSON(_ operation: Operation) -> [String: Any] {
        var parameters: [[String: Any]] = operation.path.split(separator: "/").filter { $0.hasPrefix(":") }.map {
            ["name": String($0.dropFirst()), "in": "path", "required": true, "schema": Schema.string.json]
        }
        parameters += operation.query.map { query in
            var parameter: [String: Any] = ["name": query.name, "in": "query", "required": false, "schema": query.schema.json]
            if !query.description.isEmpty { parameter["description"] = query.description }
            return parameter
        }
        var success: [String: Any] = ["description": "Success."]
        if let response = operation.response {
            success["content"] = ["application/json": ["schema": response.json]]
        }
        let error: [String: Any] = ["description": "An error (docs/errors.md).", "content": ["application/json": ["schema": Schema.ref("Error").json]]]
        let permission = operation.permission.rawValue
        var json: [String: Any] = [
            "operationId": "\(operation.method.lowercased())\(operation.path)",
            "summary": operation.summary,
            "description": "\(operation.summary) Needs permission `\(permission)`.",
            "x-vessel-permission": permission,
            "parameters": parameters,
            "responses": ["2XX": success, "default": error],
        ]
        if operation.permission == .anonymous { json["security"] = [[String: Any]]() }
        switch operation.body {
        case .json(let schema): json["requestBody"] = ["required": true, "content": ["application/json": ["schema": schema.json]]]
        case .binary: json["requestBody"] = ["required": true, "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]]
        case nil: break
        }
        return json
    }

    static func document() -> [String: Any] {
        var paths: [String: [String: Any]] = [:]
        for operation in operations {
            paths[openAPIPath(operation.path), default: [:]][operation.method.lowercased()] = operationJSON(operation)
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": "Vessel API", "version": "1", "description": description],
            "servers": [["url": "/"]],
            "security": [["bearer": [String]()]],
            "paths": paths,
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
                "schemas": components.mapValues { $0.json },
            ],
        ]
    }

    /// The document's bytes: sorted keys, so docs/openapi.json diffs stay readable.
    static let bytes: Data = {
        var data = (try? JSONSerialization.data(withJSONObject: document(), options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
        data.append(0x0A)
        return data
    }()
}

/// Serves the document, without a token.
struct OpenAPIController {
    func register(_ routes: APIRoutes) {
        let body = ByteBuffer(data: OpenAPIDocument.bytes)
        routes.on(.get, "/api/v1/openapi.json", .anonymous) { _, _, _ in
            JSONResponse.make(body: body)
        }
    }
}
