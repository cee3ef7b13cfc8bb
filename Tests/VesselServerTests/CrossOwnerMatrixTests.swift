import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselServer

/// The cross-owner rows of the route × role matrix (issue 21): principals with strong roles on
/// `beta/*` aim every route that takes a digest, an upload id, a cursor or an event id at what
/// belongs to `acme`. Each row names the route, the caller and the one answer it must get;
/// `GovernanceTests.authorizationMatrix` covers every route × role on the caller's own scope.
@Suite struct CrossOwnerMatrixTests {
    struct Row {
        let label: String
        let method: HTTPRequest.Method
        let uri: String
        let caller: HTTPFields
        var body: ByteBuffer = ByteBuffer(string: "{}")
        var length: Int? = nil
        let status: HTTPResponse.Status
        var code: String? = nil
    }

    @Test func anotherOwnersDraftsBlobsUploadsCursorsAndEventsStayClosed() async throws {
        try await APIHarness.with { harness, client in
            let weights = Array("acme weights that beta must not reach".utf8)
            let digest = APIHarness.digest(weights)
            _ = try await APIHarness.push(client, model: "acme/m", files: ["w.bin": weights])
            _ = try await APIHarness.push(client, model: "acme/n", files: ["other.bin": Array("more".utf8)])
            let carol = try await harness.principal("carol", .contributor, scope: "acme/*")
            let bob = try await harness.principal("bob", .contributor, scope: "beta/*")
            let mallory = try await harness.principal("mallory", .maintainer, scope: "beta/*")
            let betaAdmin = try await harness.principal("beta-admin", .admin, scope: "beta/*")
            _ = try await APIHarness.push(client, model: "beta/b", files: ["b.bin": Array("beta's own".utf8)], as: bob)

            // Acme's live upload session, acme's events, an admin's cursor over acme's models.
            let pending = Array("carol's upload in progress".utf8)
            let session = try await client.execute(uri: "/api/v1/models/acme/m/uploads", method: .post, headers: carol,
                                                   body: APIHarness.json(CreateUploadRequest(digest: APIHarness.digest(pending), size: UInt64(pending.count)))) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return try APIHarness.decode(UploadSessionInfo.self, response)
            }.uploadId
            let acmeEvent = try #require(try await harness.registry.store.outboxEvents(after: 0, limit: 100).first { $0.model == "acme/m" }).id
            let adminCursor = try #require(try await client.execute(uri: "/api/v1/models?limit=1", method: .get, headers: APIHarness.auth) { response in
                try APIHarness.decode(Page<ModelInfo>.self, response).nextCursor
            })
            let tampered = (adminCursor.first == "A" ? "B" : "A") + adminCursor.dropFirst()
            let draft = try JSONEncoder().encode(DraftRequest(files: [ManifestEntry(path: "w.bin", size: UInt64(weights.count), digest: digest)], description: nil))
            let redeliver = try APIHarness.json(RedeliverRequest(webhook: nil))

            let rows: [Row] = [
                // Drafts: naming acme's digest gains nothing; acme's own routes are closed.
                Row(label: "draft in acme/m", method: .post, uri: "/api/v1/models/acme/m/drafts", caller: betaAdmin, body: ByteBuffer(data: draft), status: .forbidden),
                Row(label: "commit in acme/m", method: .post, uri: "/api/v1/models/acme/m/drafts/x/commit", caller: bob, status: .forbidden),
                // Blobs: through acme's model forbidden, through their own model absent.
                Row(label: "GET acme blob via acme/m", method: .get, uri: "/api/v1/models/acme/m/blobs/\(digest)", caller: betaAdmin, status: .forbidden),
                Row(label: "HEAD acme blob via acme/m", method: .head, uri: "/api/v1/models/acme/m/blobs/\(digest)", caller: bob, status: .forbidden),
                Row(label: "PUT acme blob via acme/m", method: .put, uri: "/api/v1/models/acme/m/blobs/\(digest)", caller: bob, body: ByteBuffer(bytes: weights), length: weights.count, status: .forbidden),
                Row(label: "GET acme blob via beta/b", method: .get, uri: "/api/v1/models/beta/b/blobs/\(digest)", caller: betaAdmin, status: .notFound, code: "not_found"),
                Row(label: "HEAD acme blob via beta/b", method: .head, uri: "/api/v1/models/beta/b/blobs/\(digest)", caller: bob, status: .notFound),
                // Uploads: carol's session does not exist for anyone else, on any route.
                Row(label: "GET acme session via acme/m", method: .get, uri: "/api/v1/models/acme/m/uploads/\(session)", caller: bob, status: .forbidden),
                Row(label: "GET acme session via beta/b", method: .get, uri: "/api/v1/models/beta/b/uploads/\(session)", caller: betaAdmin, status: .notFound, code: "not_found"),
                Row(label: "PUT chunk of acme session via beta/b", method: .put, uri: "/api/v1/models/beta/b/uploads/\(session)/chunks/0", caller: bob, body: ByteBuffer(bytes: pending), length: pending.count, status: .notFound, code: "not_found"),
                Row(label: "complete acme session via beta/b", method: .post, uri: "/api/v1/models/beta/b/uploads/\(session)/complete", caller: bob, status: .notFound, code: "not_found"),
                Row(label: "delete acme session via beta/b", method: .delete, uri: "/api/v1/models/beta/b/uploads/\(session)", caller: betaAdmin, status: .notFound, code: "not_found"),
                // Cursors: a tampered one is refused; versions of acme are forbidden whatever the cursor.
                Row(label: "tampered models cursor", method: .get, uri: "/api/v1/models?cursor=\(tampered)", caller: bob, status: .badRequest, code: "invalid_argument"),
                Row(label: "acme versions with a cursor", method: .get, uri: "/api/v1/models/acme/m/versions?cursor=\(adminCursor)", caller: betaAdmin, status: .forbidden),
                // Redelivery: acme's event is unknown to beta's maintainer and admin.
                Row(label: "redeliver acme event", method: .post, uri: "/api/v1/events/\(acmeEvent)/redeliver", caller: mallory, body: redeliver, status: .notFound, code: "not_found"),
                Row(label: "redeliver acme event as beta admin", method: .post, uri: "/api/v1/events/\(acmeEvent)/redeliver", caller: betaAdmin, body: redeliver, status: .notFound, code: "not_found"),
            ]
            for row in rows {
                var headers = row.caller + [.contentType: row.length == nil ? "application/json" : "application/octet-stream"]
                if let length = row.length { headers[.contentLength] = String(length) }
                try await client.execute(uri: row.uri, method: row.method, headers: headers, body: row.body) { response in
                    #expect(response.status == row.status, "\(row.label): \(response.status) \(String(buffer: response.body).prefix(200))")
                    if let code = row.code, row.method != .head {
                        #expect(APIHarness.errorCode(response) == code, "\(row.label): \(String(buffer: response.body).prefix(200))")
                    }
                }
            }

            // A draft of beta/b naming acme's digest: missing, and no commit without the bytes.
            let betaDraft = try await client.execute(uri: "/api/v1/models/beta/b/drafts", method: .post, headers: bob + [.contentType: "application/json"], body: ByteBuffer(data: draft)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                return try APIHarness.decode(DraftResponse.self, response)
            }
            #expect(betaDraft.missing == [digest])
            try await client.execute(uri: "/api/v1/models/beta/b/drafts/\(betaDraft.draftId)/commit", method: .post, headers: bob) { response in
                #expect(response.status == .unprocessableContent && APIHarness.errorCode(response) == "missing_blobs")
            }
            // An admin's cursor over every model lets bob see only what his grants cover.
            try await client.execute(uri: "/api/v1/models?cursor=\(adminCursor)", method: .get, headers: bob) { response in
                #expect(response.status == .ok)
                let names = try APIHarness.decode(Page<ModelInfo>.self, response).items.map(\.model.owner)
                #expect(names.allSatisfy { $0 == "beta" }, "\(names)")
            }
            // Nothing above changed acme's data: its session is intact and its blob unchanged.
            try await client.execute(uri: "/api/v1/models/acme/m/uploads/\(session)", method: .get, headers: carol) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/models/acme/m/blobs/\(digest)", method: .get, headers: carol) { response in
                #expect(response.status == .ok && Array(buffer: response.body) == weights)
            }
        }
    }
}
