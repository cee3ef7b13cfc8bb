import Foundation
import VesselCore
import VesselMetadata

/// The body of a delivery, in the subscription's format.
enum WebhookPayload {
    static func render(_ delivery: PendingDelivery, format: WebhookFormat) throws -> [UInt8] {
        switch format {
        case .json: return json(delivery)
        case .slack:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return Array(try encoder.encode(SlackMessage(delivery)))
        }
    }

    /// `{"actor","alias","data","id","model","time","type","version"}` (keys sorted, as before
    /// with `JSONEncoder`): `version` a number, absent fields null, `data` every detail the
    /// event recorded. Written by hand: every (subscription, event) is rendered, and the
    /// encoder cost more than the rest of a delivery's own work.
    static func json(_ delivery: PendingDelivery) -> [UInt8] {
        let payload = delivery.payload
        var out: [UInt8] = []
        out.reserveCapacity(384)
        func string(_ value: String?) {
            if let value { JSONText.appendQuoted(value, to: &out) } else { out += JSONKeys.null }
        }
        out += JSONKeys.actor
        string(payload["actor"])
        out += JSONKeys.alias
        string(payload["alias"])
        out += JSONKeys.data
        for (index, name) in payload.keys.sorted().enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(name, to: &out)
            out.append(UInt8(ascii: ":"))
            string(payload[name])
        }
        out += JSONKeys.id
        string(delivery.eventID)
        out += JSONKeys.model
        string(delivery.model.isEmpty ? nil : delivery.model)
        out += JSONKeys.time
        string(Timestamp.rfc3339(micros: delivery.eventAt))
        out += JSONKeys.type
        string(delivery.eventType)
        out += JSONKeys.version
        if let version = payload["version"].flatMap({ Int($0) }) { out += Array(String(version).utf8) } else { out += JSONKeys.null }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The fixed parts of the JSON payload, each with the punctuation before it.
    private enum JSONKeys {
        static let actor = Array("{\"actor\":".utf8)
        static let alias = Array(",\"alias\":".utf8)
        static let data = Array(",\"data\":{".utf8)
        static let id = Array("},\"id\":".utf8)
        static let model = Array(",\"model\":".utf8)
        static let time = Array(",\"time\":".utf8)
        static let type = Array(",\"type\":".utf8)
        static let version = Array(",\"version\":".utf8)
        static let null = Array("null".utf8)
    }

    /// What changed, in one sentence. Exhaustive over `Outbox.EventType`: a new event type does
    /// not compile until it has its sentence; a type this build does not know (an event
    /// written by a newer replica) gets a generic one.
    static func summary(_ delivery: PendingDelivery) -> String {
        let p = delivery.payload
        let model = delivery.model.isEmpty ? "the registry" : delivery.model
        let version = p["version"].map { "version \($0)" } ?? "a version"
        let alias = p["alias"] ?? "an alias"
        let actor = p["actor"] ?? "someone"
        let env = p["env"] ?? "an environment"
        guard let type = Outbox.EventType(rawValue: delivery.eventType) else { return "\(delivery.eventType) on \(model)" }
        switch type {
        case .modelCreated: return "\(actor) created model \(model)"
        case .modelUpdated: return "\(actor) updated model \(model)"
        case .versionUpdated: return "\(actor) updated the description of \(model) \(version)"
        case .versionCreated: return "\(actor) pushed \(model) \(version)"
        case .versionReady: return "\(model) \(version) is ready"
        case .versionQuarantined: return "\(model) \(version) was quarantined"
        case .versionArchived: return "\(actor) archived \(model) \(version)"
        case .versionDeleted: return "\(actor) deleted \(model) \(version)"
        case .aliasSet: return "\(actor) pointed \(model)@\(alias) at \(version)"
        case .aliasMoved: return "\(actor) moved \(model)@\(alias) to \(version)" + (p["previous_version"].map { " (was version \($0))" } ?? "")
        case .aliasRemoved: return "\(actor) removed \(model)@\(alias)"
        case .promotionRequested: return "\(actor) requested promoting \(model) \(version) to \(alias)"
        case .promotionApproved: return "\(actor) approved promoting \(model) \(version) to \(alias)"
        case .promotionRejected: return "\(actor) rejected promoting \(model) \(version) to \(alias)"
        case .promotionRefused: return "promoting \(model) \(version) to \(alias) was refused" + (p["failures"].map { ": \($0)" } ?? "")
        case .checkReported: return "check \(p["check"] ?? "?") \(p["status"] ?? "reported") on \(model) \(version)"
        case .signatureAdded: return "\(actor) signed \(model) \(version)"
        case .datasetAdded: return "\(actor) added dataset \(p["dataset"] ?? model) revision \(p["revision"] ?? "?")"
        case .runAdded: return "\(actor) recorded training run \(p["owner"] ?? "?")/\(p["run"] ?? "?")" + (p["datasets"].flatMap { $0.isEmpty ? nil : " on \($0)" } ?? "")
        case .webhookTest: return "test delivery from Vessel, requested by \(actor)"
        case .deploymentStarted: return "\(actor) started rolling out \(model) \(version) in \(env)"
        case .deploymentAdvanced: return "\(model) \(version) takes \(p["candidate_weight"] ?? "?")% of \(env)"
        case .deploymentCompleted: return "\(model) \(version) is live in \(env)" + (p["previous_version"].map { " (was version \($0))" } ?? "")
        case .deploymentRolledBack:
            let who = p["automatic"] == "true" ? "Vessel" : actor
            return "\(who) rolled back \(model) \(version) in \(env)" + (p["reason"].flatMap { $0.isEmpty ? nil : ": \($0)" } ?? "")
        case .deploymentDrift:
            let node = p["node"] ?? "a node"
            switch p["drift"] {
            case "stale": return "\(node) serving \(model) in \(env) stopped reporting"
            case "unreachable": return "\(node) serving \(model) in \(env) is unreachable" + (p["message"].map { ": \($0)" } ?? "")
            default:
                let desired = p["desired_version"].map { "version \($0)" } ?? "its slot's version"
                return "\(node) serving \(model) in \(env) drifted: it does not serve \(desired)"
            }
        case .deploymentInSync: return "\(p["node"] ?? "a node") serving \(model) in \(env) is in sync again"
        case .gcCompleted:
            func count(_ key: String, _ noun: String) -> String {
                let n = p[key] ?? "?"
                return "\(n) \(noun)\(n == "1" ? "" : "s")"
            }
            return "garbage collection deleted \(count("versions", "version")), expired \(count("drafts", "draft")) and swept \(count("blobs", "blob"))"
                + " (\(p["bytes"] ?? "?") bytes freed)" + (p["sweep_skipped"] != nil ? "; the sweep waited for a backup" : "")
        }
    }

    /// A Slack incoming-webhook message: `text` (the notification fallback) and Block Kit
    /// `blocks` of types `header`, `section` (mrkdwn text and fields) and `context`.
    struct SlackMessage: Encodable {
        struct Text: Encodable {
            let type: String
            let text: String
        }

        struct Block: Encodable {
            let type: String
            var text: Text?
            var fields: [Text]?
            var elements: [Text]?
        }

        let text: String
        let blocks: [Block]

        init(_ delivery: PendingDelivery) {
            let summary = WebhookPayload.summary(delivery)
            text = "Vessel: \(summary)"
            var fields: [Text] = []
            func field(_ name: String, _ value: String?) {
                if let value, !value.isEmpty { fields.append(Text(type: "mrkdwn", text: "*\(name)*\n\(Self.escape(value))")) }
            }
            field("Model", delivery.model)
            field("Version", delivery.payload["version"])
            field("Alias", delivery.payload["alias"])
            field("Actor", delivery.payload["actor"])
            field("Event", delivery.eventType)
            blocks = [
                Block(type: "header", text: Text(type: "plain_text", text: String("Vessel: \(delivery.eventType)".prefix(150)))),
                Block(type: "section", text: Text(type: "mrkdwn", text: String(Self.escape(summary).prefix(3000))), fields: fields),
                Block(type: "context", elements: [Text(type: "mrkdwn", text: "event `\(delivery.eventID)` at \(Timestamp.rfc3339(micros: delivery.eventAt))")]),
            ]
        }

        /// Slack's three control characters in mrkdwn.
        static func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
    }
}
