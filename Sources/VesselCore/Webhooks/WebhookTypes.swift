/// API shapes of webhook subscriptions and their delivery attempts.

/// How a delivery's body is written: Vessel's own JSON event, or a Slack incoming-webhook message.
public enum WebhookFormat: String, Codable, Sendable, CaseIterable {
    case json
    case slack
}

/// `POST /api/v1/webhooks`: `{"url","events","scope","format","secret"}`. `events` are outbox
/// types, `*` allowed as a suffix wildcard (`alias.*`, `*`); a missing secret is generated.
public struct CreateWebhookRequest: Codable, Sendable {
    public var url: String
    public var events: [String]?
    public var scope: String?
    public var format: WebhookFormat?
    public var secret: String?

    public init(url: String, events: [String]? = nil, scope: String? = nil, format: WebhookFormat? = nil, secret: String? = nil) {
        self.url = url
        self.events = events
        self.scope = scope
        self.format = format
        self.secret = secret
    }
}

/// One subscription. `secret` is present only in the answer that created it.
public struct WebhookInfo: Codable, Sendable, Equatable {
    public var id: String
    public var url: String
    public var events: [String]
    public var scope: String
    public var format: WebhookFormat
    public var createdAt: String
    public var createdBy: String
    public var secret: String?

    public init(id: String, url: String, events: [String], scope: String, format: WebhookFormat, createdAt: String, createdBy: String, secret: String? = nil) {
        self.id = id
        self.url = url
        self.events = events
        self.scope = scope
        self.format = format
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.secret = secret
    }

    enum CodingKeys: String, CodingKey {
        case id, url, events, scope, format, secret
        case createdAt = "created_at"
        case createdBy = "created_by"
    }
}

/// One delivery attempt of one event to one subscription.
public struct DeliveryAttemptInfo: Codable, Sendable, Equatable {
    public var eventId: String
    public var eventType: String
    /// 1 for the first attempt of this event, 2 for the first retry, …
    public var attempt: Int
    public var at: String
    /// `delivered` (2xx), `failed` (will be retried) or `dead` (the last attempt; given up).
    public var status: String
    public var responseCode: Int?
    public var latencyMs: Double
    public var error: String?

    public init(eventId: String, eventType: String, attempt: Int, at: String, status: String, responseCode: Int?, latencyMs: Double, error: String?) {
        self.eventId = eventId
        self.eventType = eventType
        self.attempt = attempt
        self.at = at
        self.status = status
        self.responseCode = responseCode
        self.latencyMs = latencyMs
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case attempt, at, status, error
        case eventId = "event_id"
        case eventType = "event_type"
        case responseCode = "response_code"
        case latencyMs = "latency_ms"
    }
}

/// `POST /api/v1/events/:id/redeliver` `{"webhook"?}` → `{"event_id","webhooks"}`.
public struct RedeliverRequest: Codable, Sendable {
    public var webhook: String?
    public init(webhook: String?) { self.webhook = webhook }
}

public struct RedeliverResult: Codable, Sendable, Equatable {
    public var eventId: String
    public var webhooks: [String]
    public init(eventId: String, webhooks: [String]) {
        self.eventId = eventId
        self.webhooks = webhooks
    }

    enum CodingKeys: String, CodingKey {
        case webhooks
        case eventId = "event_id"
    }
}

/// `POST /api/v1/webhooks/:id/test` → the `webhook.test` event it queued.
public struct WebhookTestResult: Codable, Sendable, Equatable {
    public var eventId: String
    public init(eventId: String) { self.eventId = eventId }
    enum CodingKeys: String, CodingKey { case eventId = "event_id" }
}

/// Which outbox events a subscription receives: type patterns (exact, or a prefix ending in
/// `*`) and a scope (`*`, `owner/*`, `owner/name`). Events without a model match only `*`.
public struct EventFilter: Sendable, Equatable {
    public let patterns: [String]
    public let scope: Scope

    /// - Throws: `invalid_argument` for an empty pattern or a `*` that is not the last character.
    public init(patterns: [String], scope: Scope) throws(VesselError) {
        for pattern in patterns {
            let stars = pattern.filter { $0 == "*" }.count
            guard !pattern.isEmpty, pattern.count <= 128, stars == 0 || (stars == 1 && pattern.hasSuffix("*")) else {
                throw .invalidArgument("event filter '\(pattern)' must be a type such as version.ready, or end in one '*' (alias.*, *)")
            }
        }
        self.patterns = patterns.isEmpty ? ["*"] : patterns
        self.scope = scope
    }

    public func matches(type: String, model: String?) -> Bool {
        let typeMatches = patterns.contains { pattern in
            pattern.hasSuffix("*") ? type.hasPrefix(pattern.dropLast()) : type == pattern
        }
        guard typeMatches else { return false }
        switch scope {
        case .registry: return true
        case .owner(let owner): return model.map { $0.hasPrefix(owner + "/") } ?? false
        case .model(let name): return model == name.description
        }
    }
}

extension Scope {
    /// The scopes whose grants cover everything under this one, this one first.
    public var coveringScopes: [Scope] {
        switch self {
        case .registry: [.registry]
        case .owner(let owner): [.owner(owner), .registry]
        case .model(let model): Scope.covering(model)
        }
    }
}
