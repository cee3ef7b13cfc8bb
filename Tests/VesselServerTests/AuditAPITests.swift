import Foundation
import HummingbirdTesting
import Testing
import VesselCore
@testable import VesselServer

/// `GET /api/v1/audit` and `GET …/models/:owner/:name/audit` with `actor` and `action`: the
/// filters are applied in the query (a page holds the next matching entries), oldest first.
@Suite struct AuditAPITests {
    static func entries(_ client: any TestClientProtocol, _ uri: String) async throws -> Page<AuditEntryInfo> {
        try await client.execute(uri: uri, method: .get, headers: APIHarness.auth) { response in
            #expect(response.status == .ok, "\(uri): \(String(buffer: response.body))")
            return try APIHarness.decode(Page<AuditEntryInfo>.self, response)
        }
    }

    @Test func actorAndActionFilterBothListings() async throws {
        try await APIHarness.with { _, client in
            _ = try await APIHarness.push(client, model: "acme/a", files: ["config.json": Array("{}".utf8)])
            _ = try await APIHarness.push(client, model: "acme/b", files: ["config.json": Array("{\"b\":1}".utf8)])
            let all = try await Self.entries(client, "/api/v1/audit?limit=1000")
            #expect(Set(all.items.map(\.action)).isSuperset(of: ["model.create", "version.create"]), "\(all.items.map(\.action))")

            // A family: `version` keeps every `version.*`, in order; a page of 1 walks them.
            var walked: [AuditEntryInfo] = []
            var cursor: String?
            repeat {
                let page = try await Self.entries(client, "/api/v1/audit?action=version&limit=1" + (cursor.map { "&cursor=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" } ?? ""))
                walked += page.items
                cursor = page.nextCursor
            } while cursor != nil && walked.count < 100
            #expect(!walked.isEmpty && walked.allSatisfy { $0.action.hasPrefix("version.") })
            #expect(walked.map(\.seq) == all.items.filter { $0.action.hasPrefix("version.") }.map(\.seq), "every version.* entry, oldest first")

            let exact = try await Self.entries(client, "/api/v1/audit?action=model.create&model=acme/b")
            #expect(exact.items.map(\.target) == ["model/acme/b"] || exact.items.count == 1, "\(exact.items.map(\.target))")
            let byActor = try await Self.entries(client, "/api/v1/audit?actor=admin")
            #expect(byActor.items.count == all.items.filter { $0.actor == "admin" }.count && !byActor.items.isEmpty)
            #expect(try await Self.entries(client, "/api/v1/audit?actor=nobody").items.isEmpty)
            let modelFamily = try await Self.entries(client, "/api/v1/models/acme/a/audit?action=model")
            #expect(modelFamily.items.map(\.action) == ["model.create"], "\(modelFamily.items.map(\.action))")

            try await client.execute(uri: "/api/v1/audit?actor=" + String(repeating: "x", count: 201), method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .badRequest && APIHarness.errorCode(response) == "invalid_argument")
            }
            // A cursor of one filter is refused by another.
            let first = try await Self.entries(client, "/api/v1/audit?action=version&limit=1")
            if let next = first.nextCursor {
                try await client.execute(uri: "/api/v1/audit?action=model&limit=1&cursor=\(next.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", method: .get, headers: APIHarness.auth) { response in
                    #expect(response.status == .badRequest, "\(String(buffer: response.body))")
                }
            } else {
                Issue.record("two pushes wrote one version.* entry only")
            }
        }
    }
}
