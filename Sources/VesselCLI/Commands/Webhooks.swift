import ArgumentParser
import Foundation
import VesselClient
import VesselCore

struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Send registry events to HTTP endpoints (admins, or maintainers of the subscription's scope).",
        discussion: """
            Every delivery is a POST signed with the subscription's secret: `Vessel-Event-Id: <id>` and
            `Vessel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. Receivers
            should reject timestamps older than 5 minutes and dedupe by event id (delivery is at least once).
            """,
        subcommands: [Add.self, List.self, Remove.self, Test.self, Deliveries.self, Redeliver.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Subscribe a URL to events; prints the signing secret once.")
        @Argument(help: "The receiver's http:// or https:// URL.") var url: String
        @Option(help: "Comma-separated event types; '*' as a suffix wildcard (e.g. 'alias.*,version.ready'; default all).") var events: String?
        @Option(help: "Which models: '*', 'owner/*' or 'owner/name' (default '*').") var scope: String?
        @Option(help: "json (Vessel's event) or slack (a Slack incoming-webhook message).") var format: String = "json"
        @Option(help: "The signing secret (16+ characters); generated when left out.") var secret: String?
        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard WebhookFormat(rawValue: format) != nil else { throw ValidationError("--format must be json or slack") }
        }

        func run() async throws {
            try await Output.run(json: client.json) {
                let patterns = events?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let request = CreateWebhookRequest(url: url, events: patterns, scope: scope, format: WebhookFormat(rawValue: format), secret: secret)
                let info = try await client.withClient { try await $0.createWebhook(request) }
                if client.json {
                    Output.json(["id": info.id, "secret": info.secret ?? ""])
                } else {
                    Output.line("added webhook \(info.id) -> \(info.url) (events \(info.events.joined(separator: ",")), scope \(info.scope), \(info.format.rawValue))")
                    if secret == nil, let generated = info.secret { Output.line("secret: \(generated)  (shown once; store it with the receiver)") }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the subscriptions you may manage.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let items = try await client.withClient { try await $0.webhooks() }
                if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                    Output.table(["ID", "SCOPE", "EVENTS", "FORMAT", "URL"], items.map { [$0.id, $0.scope, $0.events.joined(separator: ","), $0.format.rawValue, $0.url] })
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a subscription and its delivery history.")
        @Argument(help: "The webhook id.") var id: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                try await client.withClient { try await $0.deleteWebhook(id) }
                if client.json { Output.json(["removed": id]) } else { Output.line("removed webhook \(id)") }
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a webhook.test event for this subscription only.")
        @Argument(help: "The webhook id.") var id: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let result = try await client.withClient { try await $0.testWebhook(id) }
                if client.json { Output.json(result) } else {
                    Output.line("queued test event \(result.eventId); see `vessel webhook deliveries \(id)`")
                }
            }
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the latest delivery attempts of a subscription, newest first.")
        @Argument(help: "The webhook id.") var id: String
        @Option(help: "At most this many attempts (1-1000).") var limit = 100
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let items = try await client.withClient { try await $0.webhookDeliveries(id, limit: limit) }
                if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                    Output.table(["TIME", "EVENT", "TYPE", "TRY", "STATUS", "CODE", "MS", "ERROR"], items.map {
                        [$0.at, $0.eventId, $0.eventType, String($0.attempt), $0.status, $0.responseCode.map(String.init) ?? "-",
                         String(format: "%.1f", $0.latencyMs), $0.error ?? ""]
                    })
                }
            }
        }
    }

    struct Redeliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send an event again (to one subscription, or to every one that received it).")
        @Argument(help: "The event id (Vessel-Event-Id).") var eventId: String
        @Option(help: "Only to this webhook (also one that never received the event).") var webhook: String?
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let result = try await client.withClient { try await $0.redeliver(eventID: eventId, webhook: webhook) }
                if client.json { Output.json(result) } else {
                    Output.line("queued \(result.eventId) again for \(result.webhooks.joined(separator: ", "))")
                }
            }
        }
    }
}
