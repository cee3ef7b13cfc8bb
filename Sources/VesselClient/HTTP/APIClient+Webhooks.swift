import AsyncHTTPClient
import VesselCore

/// Webhook subscription endpoints.
extension APIClient {
    public func createWebhook(_ request: CreateWebhookRequest) async throws -> WebhookInfo {
        try await call(.POST, "/api/v1/webhooks", body: request, as: WebhookInfo.self)
    }

    public func webhooks() async throws -> [WebhookInfo] {
        try await all("/api/v1/webhooks", as: WebhookInfo.self)
    }

    public func deleteWebhook(_ id: String) async throws {
        try await callNoContent(.DELETE, "/api/v1/webhooks/\(id.percentEscaped)")
    }

    public func testWebhook(_ id: String) async throws -> WebhookTestResult {
        try await call(.POST, "/api/v1/webhooks/\(id.percentEscaped)/test", body: Empty(), as: WebhookTestResult.self)
    }

    public func webhookDeliveries(_ id: String, limit: Int = 100) async throws -> [DeliveryAttemptInfo] {
        try await call(.GET, "/api/v1/webhooks/\(id.percentEscaped)/deliveries?limit=\(limit)", as: Page<DeliveryAttemptInfo>.self).items
    }

    public func redeliver(eventID: String, webhook: String?) async throws -> RedeliverResult {
        try await call(.POST, "/api/v1/events/\(eventID.percentEscaped)/redeliver", body: RedeliverRequest(webhook: webhook), as: RedeliverResult.self)
    }
}
