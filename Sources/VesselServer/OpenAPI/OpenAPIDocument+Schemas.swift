import VesselCore

/// The field schemas of deployments, nodes, signatures, webhooks and lineage in the OpenAPI
/// document, from their Codable types in VesselCore. A field is required only when the type
/// always encodes it (a Swift optional is left out when nil, so it is not required).
extension OpenAPIDocument {
    static let deploymentStatus = Schema.enumeration(DeploymentStatus.allCases.map(\.rawValue))
    static let deploymentSlot = Schema.enumeration(DeploymentSlot.allCases.map(\.rawValue))
    static let ruleFailure = Schema.object([("rule", .string), ("message", .string)], required: ["rule", "message"])

    /// `DeploymentInfo`'s fields, which `DeploymentResult` also carries (all null there when the
    /// environment holds no deployment).
    static let deploymentFields: [(String, Schema)] = [
        ("model", .string), ("env", .string), ("revision", .integer), ("status", deploymentStatus), ("live", deploymentSlot),
        ("slots", .ref("DeploymentSlots")), ("candidate_weight", .integer), ("steps", .array(.integer)), ("step", .integer),
        ("smoke", .array(.string)), ("max_error_rate", .nullable(.number)), ("max_p99_ms", .nullable(.number)), ("min_requests", .integer),
        ("routes", .array(.ref("DeploymentRoute"))), ("updated_at", .string), ("updated_by", .string),
    ]

    /// `DeploymentResult`: the deployment's fields (each may be null), `outcome`, `request_id`, `failures`.
    static let deploymentResultFields: [(String, Schema)] =
        deploymentFields.map { name, schema in name == "model" || name == "env" ? (name, schema) : (name, .nullable(schema)) }
        + [("outcome", .enumeration(["applied", "pending", "refused"])), ("request_id", .nullable(.string)), ("failures", .array(ruleFailure))]

    static let nodeVersion = Schema.object([("version", .nullable(.integer)), ("digest", .string)], required: ["digest"])
    static let driftState = Schema.enumeration(DriftState.allCases.map(\.rawValue))

    static let versionEnvironment = Schema.object([
        ("requirements_file", .nullable(.string)), ("requirements_text", .nullable(.string)),
        ("requirements", .nullable(.array(.object([("line", .integer), ("kind", .string), ("text", .string), ("name", .nullable(.string)),
                                                    ("specifier", .nullable(.string)), ("marker", .nullable(.string))],
                                                   required: ["line", "kind", "text"])))),
        ("requirements_source", .nullable(.string)), ("image", .nullable(.string)), ("image_source", .nullable(.string)),
    ])

    static let requirementsUpload = Schema.object([("file_name", .string), ("text", .string)], required: ["file_name", "text"])

    static let fieldComponents: [String: Schema] = [
        "Deployment": .object(deploymentFields, required: ["model", "env", "revision", "status", "live", "slots", "candidate_weight", "steps", "step",
                                                          "smoke", "min_requests", "routes", "updated_at", "updated_by"]),
        "DeploymentSlots": .object([("blue", .nullable(.ref("SlotVersion"))), ("green", .nullable(.ref("SlotVersion")))]),
        "SlotVersion": .object([("version", .integer), ("digest", .string)], required: ["version", "digest"]),
        "DeploymentRoute": .object([("slot", deploymentSlot), ("version", .integer), ("digest", .string), ("weight", .integer)],
                                   required: ["slot", "version", "digest", "weight"]),
        "DeploymentResult": .object(deploymentResultFields, required: ["model", "env", "outcome", "failures"]),
        "DeploymentReportResult": .object(deploymentResultFields + [
            ("report", .object([("slot", deploymentSlot), ("stale", .boolean), ("counted", .boolean), ("requests", .nullable(.integer)),
                                ("errors", .nullable(.integer)), ("p99_ms", .nullable(.number)), ("rolled_back", .boolean), ("reason", .nullable(.string))],
                               required: ["slot", "stale", "counted", "rolled_back"])),
        ], required: ["model", "env", "outcome", "failures", "report"]),
        "DeploymentHistoryEntry": .object([("model", .string), ("env", .string), ("revision", .integer), ("action", .string), ("at", .string),
                                           ("until", .nullable(.string)), ("actor", .string), ("reason", .nullable(.string)), ("automatic", .boolean),
                                           ("status", deploymentStatus), ("live", deploymentSlot), ("slots", .ref("DeploymentSlots")),
                                           ("candidate_weight", .integer), ("step", .integer), ("routes", .array(.ref("DeploymentRoute")))],
                                          required: ["model", "env", "revision", "action", "at", "actor", "automatic", "status", "live", "slots",
                                                     "candidate_weight", "step", "routes"]),
        "Node": .object([("node", .string), ("kind", .enumeration(["agent", "endpoint"])), ("slot", .enumeration(NodeSlot.allCases.map(\.rawValue))),
                         ("desired", .nullable(nodeVersion)), ("actual", .nullable(nodeVersion)), ("reported_state", .nullable(.string)),
                         ("drift", .nullable(driftState)), ("since", .nullable(.string)), ("last_seen", .nullable(.string)), ("message", .nullable(.string))],
                        required: ["node", "kind", "slot"]),
        "Endpoint": .object([("url", .string), ("slot", .enumeration(NodeSlot.allCases.map(\.rawValue))), ("added_by", .string), ("added_at", .string),
                             ("desired", .nullable(nodeVersion)), ("actual", .nullable(nodeVersion)), ("drift", .nullable(driftState)),
                             ("since", .nullable(.string)), ("last_seen", .nullable(.string)), ("message", .nullable(.string))],
                            required: ["url", "slot", "added_by", "added_at"]),
        "Signature": .object([("id", .string), ("key_hint", .string), ("status", .enumeration(["trusted", "unverified"])), ("key_name", .nullable(.string)),
                              ("signed_at", .string), ("signed_by", .string)], required: ["id", "key_hint", "status", "signed_at", "signed_by"]),
        "Webhook": .object([("id", .string), ("url", .string), ("events", .array(.string)), ("scope", .string), ("format", .enumeration(["json", "slack"])),
                            ("created_at", .string), ("created_by", .string), ("secret", .nullable(.string))],
                           required: ["id", "url", "events", "scope", "format", "created_at", "created_by"]),
        "DeliveryAttempt": .object([("event_id", .string), ("event_type", .string), ("attempt", .integer), ("at", .string), ("status", .string),
                                    ("response_code", .nullable(.integer)), ("latency_ms", .number), ("error", .nullable(.string))],
                                   required: ["event_id", "event_type", "attempt", "at", "status", "latency_ms"]),
        "DatasetRevision": .object([("dataset", .string), ("revision", .integer), ("uri", .string), ("digest", .nullable(.string)), ("size", .nullable(.integer)),
                                    ("from", .array(.string)), ("description", .string), ("created_at", .string), ("created_by", .string)],
                                   required: ["dataset", "revision", "uri", "from", "description", "created_at", "created_by"]),
        "Run": .object([("id", .string), ("owner", .string), ("name", .nullable(.string)), ("git_repo", .nullable(.string)),
                        ("git_commit", .nullable(.string)), ("config_name", .nullable(.string)), ("config_digest", .nullable(.string)), ("config", .nullable(.string)),
                        ("params", .map(.string)), ("metrics", .map(.number)), ("datasets", .array(.string)), ("environment", versionEnvironment),
                        ("created_at", .string), ("created_by", .string)],
                       required: ["id", "owner", "params", "metrics", "datasets", "environment", "created_at", "created_by"]),
        "LineageGraph": .object([("root", .string), ("direction", .string),
                                 ("nodes", .array(.object([("id", .string), ("kind", .string), ("label", .string), ("scope", .string), ("depth", .integer),
                                                           ("uri", .nullable(.string)), ("digest", .nullable(.string)), ("git_commit", .nullable(.string)),
                                                           ("env", .nullable(.string)), ("slot", .nullable(.string)), ("from", .nullable(.string)),
                                                           ("until", .nullable(.string))], required: ["id", "kind", "label", "scope", "depth"]))),
                                 ("edges", .array(.object([("from", .string), ("to", .string), ("kind", .string)], required: ["from", "to", "kind"]))),
                                 ("hidden", .integer), ("truncated", .boolean)],
                                required: ["root", "direction", "nodes", "edges", "hidden", "truncated"]),
        "VersionEnvironment": .object([("run", .nullable(.string)), ("environment", versionEnvironment)], required: ["environment"]),
    ]
}
