import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

/// Who may read or trigger what across models and owners (issue 21, "Security": items 2 and
/// 4). Every case here failed before its fix; the suite stays.
@Suite struct SecurityAccessTests {
    static func create(_ client: any TestClientProtocol, _ model: String) async throws {
        try await client.execute(uri: "/api/v1/models/\(model)", method: .post, headers: APIHarness.auth, body: APIHarness.json(CreateModelRequest(description: nil, tags: nil))) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
        }
    }

    /// The status and error body of a `GET` of `uri`.
    static func get(_ client: any TestClientProtocol, _ uri: String, _ headers: HTTPFields, method: HTTPRequest.Method = .get) async throws -> (HTTPResponse.Status, ErrorBody.Inner?) {
        try await client.execute(uri: uri, method: method, headers: headers) { response in
            (response.status, (try? APIHarness.decode(ErrorBody.self, response))?.error)
        }
    }
}

// MARK: Blobs of uncommitted drafts (item 2)

extension SecurityAccessTests {
    /// A blob that only a pending draft names is not the model's yet: a viewer gets the same
    /// 404 as for a digest nobody has, until the draft is committed.
    @Test func aViewerCannotReadABlobOnlyADraftNames() async throws {
        try await APIHarness.with { harness, client in
            try await Self.create(client, "acme/m")
            let contributor = try await harness.principal("carol", .contributor, scope: "acme/*")
            let viewer = try await harness.principal("victor", .viewer, scope: "acme/*")
            let bytes = Array("draft-only weights".utf8)
            let digest = APIHarness.digest(bytes)
            let entries = [ManifestEntry(path: "model.bin", size: UInt64(bytes.count), digest: digest)]
            let draft = try await client.execute(uri: "/api/v1/models/acme/m/drafts", method: .post, headers: contributor, body: APIHarness.json(DraftRequest(files: entries, description: nil))) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return try APIHarness.decode(DraftResponse.self, response)
            }
            try await client.execute(uri: "/api/v1/models/acme/m/blobs/\(digest)", method: .put, headers: contributor + [.contentLength: String(bytes.count)], body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }

            let nobodys = APIHarness.digest(Array("nobody has this".utf8))
            let absent = try await Self.get(client, "/api/v1/models/acme/m/blobs/\(nobodys)", viewer)
            #expect(absent.0 == .notFound && absent.1?.code == "not_found")
            for method in [HTTPRequest.Method.get, .head] {
                let drafted = try await Self.get(client, "/api/v1/models/acme/m/blobs/\(digest)", viewer, method: method)
                #expect(drafted.0 == .notFound, "\(method) of a draft-only blob answered \(drafted.0)")
            }
            let drafted = try await Self.get(client, "/api/v1/models/acme/m/blobs/\(digest)", viewer)
            #expect(drafted.1?.code == "not_found")

            try await client.execute(uri: "/api/v1/models/acme/m/drafts/\(draft.draftId)/commit", method: .post, headers: contributor) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/api/v1/models/acme/m/blobs/\(digest)", method: .get, headers: viewer) { response in
                #expect(response.status == .ok)
                #expect(Array(buffer: response.body) == bytes)
            }
        }
    }
}

// MARK: Webhook redelivery across scopes (item 4)

extension SecurityAccessTests {
    static func redeliver(_ client: any TestClientProtocol, _ eventID: String, webhook: String?, _ headers: HTTPFields) async throws -> (HTTPResponse.Status, ErrorBody.Inner?, [String]) {
        try await client.execute(uri: "/api/v1/events/\(eventID)/redeliver", method: .post, headers: headers, body: APIHarness.json(RedeliverRequest(webhook: webhook))) { response in
            (response.status, (try? APIHarness.decode(ErrorBody.self, response))?.error, (try? APIHarness.decode(RedeliverResult.self, response))?.webhooks ?? [])
        }
    }

    /// A maintainer of `acme/*` cannot have an event of `beta/hidden` sent to their own
    /// subscription, with or without naming it; the answer is the 404 of an unknown event, and
    /// nothing is queued. Their own events still redeliver.
    @Test func redeliveryStaysInsideTheCallersScopes() async throws {
        try await APIHarness.with(configure: WebhookTesting.fast) { harness, client in
            let maintainer = try await harness.principal("mallory", .maintainer, scope: "acme/*")
            let own = try await WebhookTesting.subscribe(client, CreateWebhookRequest(url: "http://127.0.0.1:9/hook", events: nil, scope: "acme/*", format: nil, secret: nil), headers: maintainer)
            let everything = try await WebhookTesting.subscribe(client, CreateWebhookRequest(url: "http://127.0.0.1:9/all", events: nil, scope: "*", format: nil, secret: nil))
            try await Self.create(client, "beta/hidden")
            try await Self.create(client, "acme/m")
            let events = try await harness.registry.store.outboxEvents(after: 0, limit: 100)
            let hidden = try #require(events.first { $0.model == "beta/hidden" })
            let mine = try #require(events.first { $0.model == "acme/m" })

            let unknown = try await Self.redeliver(client, "no-such-event", webhook: own.id, maintainer)
            #expect(unknown.0 == .notFound && unknown.1?.code == "not_found")
            for webhook in [own.id, nil] {
                let crossed = try await Self.redeliver(client, hidden.id, webhook: webhook, maintainer)
                #expect(crossed.0 == .notFound, "redelivering beta's event to \(webhook ?? "every subscription") answered \(crossed.0)")
                #expect(crossed.1?.code == unknown.1?.code && crossed.1?.message == unknown.1?.message, "\(String(describing: crossed.1)) differs from \(String(describing: unknown.1))")
            }
            let unknownAnonymous = try await Self.redeliver(client, "no-such-event", webhook: nil, maintainer)
            #expect(unknownAnonymous.1?.message == unknown.1?.message)
            #expect(try await harness.registry.store.pendingDeliveryCount() == 0, "a refused redelivery queued something")
            #expect(try await harness.registry.store.deliveryAttempts(webhook: own.id, limit: 10, cursor: nil).items.isEmpty)

            // A subscription whose scope does not take the event is not a target, even for an
            // admin who may see the event.
            let refused = try await Self.redeliver(client, hidden.id, webhook: own.id, APIHarness.auth)
            #expect(refused.0 == .notFound, "\(refused)")
            #expect(try await harness.registry.store.pendingDeliveryCount() == 0)
            #expect(try await Self.redeliver(client, hidden.id, webhook: nil, APIHarness.auth).2 == [everything.id])

            // The legitimate case: their own model's event, named or not.
            #expect(try await Self.redeliver(client, mine.id, webhook: own.id, maintainer).2 == [own.id])
            #expect(try await Self.redeliver(client, mine.id, webhook: nil, maintainer).2 == [own.id])
        }
    }
}

// MARK: Deployment lists across owners (issue 23)

extension SecurityAccessTests {
    /// `GET /api/v1/deployments` needs only a token and shows each caller the deployments of the
    /// models its grants cover, filtered in the query: neither a page nor its cursor names a
    /// deployment of another owner's model.
    @Test func deploymentListsShowWhatTheCallerMayRead() async throws {
        try await APIHarness.with { harness, client in
            for model in ["acme/m", "beta/x"] {
                _ = try await APIHarness.push(client, model: model, files: ["config.json": Array("{}".utf8)])
                for env in ["dev", "prod"] {
                    try await client.execute(uri: "/api/v1/models/\(model)/deployments/\(env)", method: .post, headers: APIHarness.auth, body: APIHarness.json(DeployRequest(version: 1))) { response in
                        #expect(response.status == .ok, "\(String(buffer: response.body))")
                    }
                }
            }
            let acmeViewer = try await harness.principal("acme-viewer", .viewer, scope: "acme/*")
            let nobody = try await harness.principal("nobody", nil)
            for (headers, expected) in [(acmeViewer, ["acme/m@dev", "acme/m@prod"]), (nobody, []),
                                        (APIHarness.auth, ["acme/m@dev", "acme/m@prod", "beta/x@dev", "beta/x@prod"])] {
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let page = try await client.execute(uri: "/api/v1/deployments?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""), method: .get, headers: headers) { response in
                        #expect(response.status == .ok)
                        return try APIHarness.decode(Page<DeploymentInfo>.self, response)
                    }
                    seen += page.items.map { "\($0.model)@\($0.env)" }
                    cursor = page.nextCursor
                } while cursor != nil
                #expect(seen == expected)
            }
            // Another owner's deployment itself is forbidden, not just left out of lists.
            #expect(try await Self.get(client, "/api/v1/models/beta/x/deployments/prod", acmeViewer).0 == .forbidden)
            #expect(try await Self.get(client, "/api/v1/models/beta/x/deployments", acmeViewer).0 == .forbidden)
            try await client.execute(uri: "/api/v1/deployments", method: .get) { #expect($0.status == .unauthorized) }
        }
    }
}
