import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import VesselCore
import VesselMetadata
@testable import VesselServer

/// Short timings so delivery tests take seconds; only 127.0.0.0/8 is allowed.
enum WebhookTesting {
    static func fast(_ options: inout ServerOptions) {
        options.webhooks.allowedNetworks = (try? CIDR("127.0.0.0/8")).map { [$0] } ?? []
        options.webhooks.pollInterval = .milliseconds(50)
        options.webhooks.initialBackoff = .milliseconds(50)
        options.webhooks.maxBackoff = .milliseconds(200)
        options.webhooks.connectTimeout = .milliseconds(500)
        options.webhooks.responseTimeout = .milliseconds(400)
        options.webhooks.leaseTTL = .seconds(3)
    }

    /// `fast`, but with timeouts no loaded machine reaches: for tests that need every send
    /// to a healthy receiver to succeed the first time.
    static func patient(_ options: inout ServerOptions) {
        fast(&options)
        options.webhooks.connectTimeout = .seconds(30)
        options.webhooks.responseTimeout = .seconds(30)
    }

    /// Runs the registry's delivery service while `body` runs, then stops it.
    static func delivering(_ registry: Registry, _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await registry.webhookDelivery(logger: Logger(label: "test")).run() }
            do {
                try await body()
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    /// Subscribes through the API; returns the created subscription (with its secret).
    static func subscribe(_ client: any TestClientProtocol, _ request: CreateWebhookRequest, headers: HTTPFields = APIHarness.auth) async throws -> WebhookInfo {
        try await client.execute(uri: "/api/v1/webhooks", method: .post, headers: headers, body: APIHarness.json(request)) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
            return try APIHarness.decode(WebhookInfo.self, response)
        }
    }

    /// Waits until no delivery is pending and every subscription's stored cursor is at the
    /// newest event (every direct send recorded).
    static func settle(_ store: any WebhookStore) async throws {
        // A bound that tells "never" from "slow" on a loaded machine, not a speed requirement.
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            let pending = try await store.pendingDeliveryCount() > 0
            if !pending, try await !unsettled(store) { return }
            guard ContinuousClock.now < deadline else { throw VesselError.internalError("deliveries still pending") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func unsettled(_ store: any WebhookStore) async throws -> Bool {
        for (_, cursor) in try await store.webhookCursors() where !(try await store.outboxEvents(after: cursor, limit: 1).isEmpty) {
            return true
        }
        return false
    }

    static let system = ChangeContext(actor: "alice", requestID: nil)

    /// True when `header` is a valid `t=…,v1=…` signature of `body` with `secret`, made within the last minute.
    static func verify(_ header: String?, body: [UInt8], secret: String) -> Bool {
        guard let header else { return false }
        var fields: [String: String] = [:]
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let t = fields["t"], let timestamp = Int64(t), let v1 = fields["v1"] else { return false }
        guard abs(Int64(Date().timeIntervalSince1970) - timestamp) < 60 else { return false }
        let expected = HMAC<SHA256>.authenticationCode(for: Array("\(t).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8)))
        return expected.map { String(format: "%02x", $0) }.joined() == v1
    }
}
