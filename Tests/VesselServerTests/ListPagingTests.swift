import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VesselCore
import VesselMetadata
@testable import VesselServer

/// docs/api.md: every list pages with `?limit=&cursor=` → `{"items", "next_cursor"}`.
@Suite struct ListPagingTests {
    /// Every GET route that answers a list honours `limit` and refuses one out of range, so a
    /// new list route that forgets to page fails here.
    @Test func everyListRouteTakesALimit() async throws {
        try await APIHarness.with { harness, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["a.json": Array("1".utf8)])
            var lists = 0
            for route in harness.registry.makeRouter().routes where route.hasPrefix("GET ") {
                let uri = String(route.split(separator: " ")[1])
                    .replacingOccurrences(of: ":owner", with: "acme").replacingOccurrences(of: ":name", with: "m")
                    .replacingOccurrences(of: ":version", with: "1").replacingOccurrences(of: ":alias", with: "prod")
                    .replacingOccurrences(of: ":webhook", with: "whk_none")
                guard !uri.contains(":") else { continue }
                let isList = try await client.execute(uri: uri + "?limit=1", method: .get, headers: APIHarness.auth) { response -> Bool in
                    guard response.status == .ok,
                          let object = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any],
                          let items = object["items"] as? [Any] else { return false }
                    #expect(items.count <= 1, "\(route)")
                    #expect(object.keys.contains("next_cursor"), "\(route)")
                    return true
                }
                guard isList else { continue }
                lists += 1
                try await client.execute(uri: uri + "?limit=0", method: .get, headers: APIHarness.auth) { response in
                    #expect(response.status == .badRequest, "\(route) ignores limit")
                }
            }
            #expect(lists >= 12, "the list routes were not found")
        }
    }

    @Test func cursorsWalkAListOnceInOrder() async throws {
        try await APIHarness.with { harness, client in
            let system = ChangeContext(actor: "test", requestID: nil)
            for name in ["erin", "bob", "dave", "carol", "alice"] {
                _ = try await harness.registry.store.createPrincipal(name: name, kind: .user, change: system)
            }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await client.execute(uri: "/api/v1/principals?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), method: .get, headers: APIHarness.auth) {
                    try APIHarness.decode(Page<PrincipalInfo>.self, $0)
                }
                #expect(page.items.count <= 2)
                seen += page.items.map(\.name)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == ["admin", "alice", "bob", "carol", "dave", "erin"])
            #expect(pages == 3)
            // A principal added behind the cursor does not shift the pages after it.
            let first = try await client.execute(uri: "/api/v1/principals?limit=2", method: .get, headers: APIHarness.auth) {
                try APIHarness.decode(Page<PrincipalInfo>.self, $0)
            }
            _ = try await harness.registry.store.createPrincipal(name: "aaron", kind: .user, change: system)
            let second = try await client.execute(uri: "/api/v1/principals?limit=2&cursor=\(try #require(first.nextCursor))", method: .get, headers: APIHarness.auth) {
                try APIHarness.decode(Page<PrincipalInfo>.self, $0)
            }
            #expect(second.items.map(\.name) == ["bob", "carol"])
            try await client.execute(uri: "/api/v1/principals?cursor=%25%25", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .badRequest)
                #expect(APIHarness.errorCode(response) == "invalid_argument")
            }
        }
    }
}
