import Foundation
import VesselCore
import VesselMetadata

/// The body of a delivery, in the subscription's format.
enum WebhookPayload {
    static func render(_ delivery: PendingDelivery, format: WebhookFormat) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        switch format {
        case .json: return Array(try encoder.encode(JSONEvent(delivery)))
        case .slack: return Array(try encoder.encode(SlackMessage(delivery)))
        }
    }

    /// `{"id","type","time","model","version","alias","actor","data"}`: `version` a number,
    /// absent fields null, `data` every detail the event recorded.
    struct JSONEvent: Encodable {
        let id: String
        let type: String
        let time: String
        let model: String?
        let version: Int?
        let alias: String?
        let actor: String?
        let data: [String: String]

        init(_ delivery: PendingDelivery) {
            id = delivery.eventID
            type = delivery.eventType
            time = Timestamp.rfc3339(micros: delivery.eventAt)
            model = delivery.model.isEmpty ? nil : delivery.model
            version = delivery.payload["version"].flatMap { Int($0) }
            alias = delivery.payload["alias"]
            actor = delivery.payload["actor"]
            data = delivery.payload
        }

        enum CodingKeys: String, CodingKey { case id, type, time, model, version, alias, actor, data }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(type, forKey: .type)
            try c.encode(time, forKey: .time)
            try c.encode(model, forKey: .model)
            try c.encode(version, forKey: .version)
            try c.encode(alias, forKey: .alias)
            try c.encode(actor, forKey: .actor)
            try c.encode(data, forKey: .data)
        }
    }

    /// What changed, in one sentence.
    static func summary(_ delivery: PendingDelivery) -> String {
        let p = delivery.payload
        let model = delivery.model.isEmpty ? "the registry" : delivery.model
        let version = p["version"].map { "version \($0)" } ?? "a version"
        let alias = p["alias"] ?? "an alias"
        let actor = p["actor"] ?? "someone"
        switch delivery.eventType {
        case "model.created": return "\(actor) created model \(model)"
        case "version.created": return "\(actor) pushed \(model) \(version)"
        case "version.ready": return "\(model) \(version) is ready"
        case "version.quarantined": return "\(model) \(version) was quarantined"
        case "version.archived": return "\(actor) archived \(model) \(version)"
        case "version.deleted": return "\(actor) deleted \(model) \(version)"
        case "alias.set": return "\(actor) pointed \(model)@\(alias) at \(version)"
        case "alias.moved": return "\(actor) moved \(model)@\(alias) to \(version)" + (p["previous_version"].map { " (was version \($0))" } ?? "")
        case "alias.removed": return "\(actor) removed \(model)@\(alias)"
        case "promotion.requested": return "\(actor) requested promoting \(model) \(version) to \(alias)"
        case "promotion.approved": return "\(actor) approved promoting \(model) \(version) to \(alias)"
        case "promotion.rejected": return "\(actor) rejected promoting \(model) \(version) to \(alias)"
        case "promotion.refused": return "promoting \(model) \(version) to \(alias) was refused" + (p["failures"].map { ": \($0)" } ?? "")
        case "check.reported": return "check \(p["check"] ?? "?") \(p["status"] ?? "reported") on \(model) \(version)"
        case "signature.added": return "\(actor) signed \(model) \(version)"
        case "webhook.test": return "test delivery from Vessel, requested by \(actor)"
        default: return "\(delivery.eventType) on \(model)"
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
