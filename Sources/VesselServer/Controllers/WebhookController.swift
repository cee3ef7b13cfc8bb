import Hummingbird
import VesselCore
import VesselMetadata

/// Webhook subscriptions, their delivery attempts, redelivery.
///
/// Subscriptions live on a scope, not a model, so these routes are declared `authenticated`
/// and every handler asks one question through `requireManager`: does the caller hold
/// maintainer (or admin) on the subscription's scope or a scope covering it? An admin on `*`
/// manages all of them; a maintainer of `acme/*` those on `acme/*` and `acme/<model>`.
struct WebhookController {
    let store: any WebhookStore & GrantStore
    let policy: DestinationPolicy

    func register(_ routes: APIRoutes) {
        routes.on(.post, "/api/v1/webhooks", .authenticated) { request, context, caller in
            let body = try await JSONResponse.decode(CreateWebhookRequest.self, from: request, context: context)
            let filter = try EventFilter(patterns: body.events ?? ["*"], scope: try Scope(body.scope ?? "*"))
            try await requireManager(caller, filter.scope)
            if let secret = body.secret, secret.count < 16 || secret.count > 256 {
                throw VesselError.invalidArgument("a webhook secret must be 16 to 256 characters; leave it out to get a generated one")
            }
            _ = try await policy.check(body.url)
            let secret = body.secret ?? WebhookSignature.generateSecret()
            let subscription = try await store.createWebhook(url: body.url, filter: filter, format: body.format ?? .json, secret: secret, change: caller.change)
            var info = subscription.info
            info.secret = secret
            return try JSONResponse.make(info, status: .created)
        }
        routes.on(.get, "/api/v1/webhooks", .authenticated) { request, _, caller in
            var visible: [WebhookInfo] = []
            for subscription in try await store.webhooks() {
                if try await mayManage(caller, subscription.filter.scope) { visible.append(subscription.info) }
            }
            return try JSONResponse.make(try ListPaging.page(visible, request) { ListPaging.key($0.createdAt, $0.id) })
        }
        routes.on(.delete, "/api/v1/webhooks/:webhook", .authenticated) { _, context, caller in
            let subscription = try await managed(caller, context)
            try await store.deleteWebhook(id: subscription.id, change: caller.change)
            return Response(status: .noContent)
        }
        routes.on(.post, "/api/v1/webhooks/:webhook/test", .authenticated) { _, context, caller in
            let subscription = try await managed(caller, context)
            let eventID = try await store.queueTestEvent(webhook: subscription.id, change: caller.change)
            return try JSONResponse.make(WebhookTestResult(eventId: eventID), status: .accepted)
        }
        routes.on(.get, "/api/v1/webhooks/:webhook/deliveries", .authenticated) { request, context, caller in
            let subscription = try await managed(caller, context)
            return try JSONResponse.make(try await store.deliveryAttempts(webhook: subscription.id, limit: Query.limit(request), cursor: Query.cursor(request)))
        }
        routes.on(.post, "/api/v1/events/:event/redeliver", .authenticated) { request, context, caller in
            let body = try await JSONResponse.decode(RedeliverRequest.self, from: request, context: context)
            let eventID = try context.parameters.require("event")
            // An event the caller may not see answers exactly as one that does not exist.
            guard let event = try await store.outboxEvent(id: eventID), try await maySee(caller, event) else {
                throw WebhookErrors.unknownEvent()
            }
            var among: Set<String>?
            if let webhook = body.webhook {
                try await requireManager(caller, try await store.webhook(id: webhook).filter.scope)
            } else if try await store.role(of: caller.principal.name, onScope: .registry) != .admin {
                among = []
                for subscription in try await store.webhooks() {
                    if try await mayManage(caller, subscription.filter.scope) { among?.insert(subscription.id) }
                }
            }
            let targets = try await store.redeliver(eventID: eventID, webhook: body.webhook, among: among, change: caller.change)
            return try JSONResponse.make(RedeliverResult(eventId: eventID, webhooks: targets), status: .accepted)
        }
    }

    /// The subscription named by `:webhook`, when the caller may manage it. Someone who may
    /// not learns nothing more than that it is not theirs.
    func managed(_ caller: Caller, _ context: AppContext) async throws -> WebhookSubscription {
        let subscription = try await store.webhook(id: try context.parameters.require("webhook"))
        try await requireManager(caller, subscription.filter.scope)
        return subscription
    }

    /// Whether the caller may learn that `event` exists: a role on its model; for an event
    /// without a model, managing the subscription a `webhook.test` names, or a role on `*`.
    func maySee(_ caller: Caller, _ event: OutboxEvent) async throws -> Bool {
        if !event.model.isEmpty {
            guard let model = try? ModelName(event.model) else { return false }
            return try await store.role(of: caller.principal.name, on: model) != nil
        }
        if event.type == Outbox.EventType.webhookTest.rawValue, let id = event.payload["webhook"],
           let subscription = try? await store.webhook(id: id), try await mayManage(caller, subscription.filter.scope) {
            return true
        }
        return try await store.role(of: caller.principal.name, on: nil) != nil
    }

    func mayManage(_ caller: Caller, _ scope: Scope) async throws -> Bool {
        guard let role = try await store.role(of: caller.principal.name, onScope: scope) else { return false }
        return role >= .maintainer
    }

    func requireManager(_ caller: Caller, _ scope: Scope) async throws {
        guard try await mayManage(caller, scope) else {
            throw VesselError.forbidden("\(caller.principal.name) needs the maintainer role on \(scope) (or admin on '*') to manage its webhooks")
        }
    }
}
