import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VesselCore
import VesselMetadata
@testable import VesselServer

/// Paging cursors leak nothing and cannot be forged (issue 21, "Security": item 3). Every case
/// here failed before its fix; the suite stays.
@Suite struct SecurityCursorTests {
    static let weights = Array("{}".utf8)

    /// One page of the models list as `headers`: the names and the next cursor.
    static func models(_ client: any TestClientProtocol, _ headers: HTTPFields, query: String) async throws -> (names: [String], next: String?) {
        try await client.execute(uri: "/api/v1/models?\(query)", method: .get, headers: headers) { response in
            #expect(response.status == .ok)
            let page = try APIHarness.decode(Page<ModelInfo>.self, response)
            return (page.items.map(\.model.description), page.nextCursor)
        }
    }

    /// A caller with no grant on `acme/*` got an empty page whose cursor decoded to `acme/a`,
    /// and following it enumerated every model. The list is filtered in the query itself, so
    /// a page holds only readable models and a cursor only ever names one of them.
    @Test func aCallerWithoutAGrantLearnsNoModelName() async throws {
        try await APIHarness.with { harness, client in
            for model in ["acme/a", "acme/b"] { _ = try await APIHarness.push(client, model: model, files: ["config.json": Self.weights]) }
            let outsider = try await harness.principal("outsider", .viewer, scope: "beta/*")
            let page = try await Self.models(client, outsider, query: "limit=1")
            #expect(page.names.isEmpty)
            #expect(page.next == nil)
            let nobody = try await harness.principal("nobody", nil)
            let empty = try await Self.models(client, nobody, query: "limit=1")
            #expect(empty.names.isEmpty)
            #expect(empty.next == nil)
        }
    }

    /// A grant on `beta/*` (and one exact model) lists only those models, a full page at a
    /// time, and the cursors walk them.
    @Test func cursorsWalkOnlyReadableModels() async throws {
        try await APIHarness.with { harness, client in
            for model in ["acme/a", "beta/b", "beta/c", "beta/d", "gamma/e", "gamma/f"] {
                _ = try await APIHarness.push(client, model: model, files: ["config.json": Self.weights])
            }
            let reader = try await harness.principal("reader", .viewer, scope: "beta/*")
            _ = try await harness.registry.store.grant(principal: "reader", role: .viewer, scope: try Scope("gamma/f"), change: ChangeContext(actor: "test", requestID: nil))
            var names: [String] = []
            var query = "limit=1"
            while true {
                let page = try await Self.models(client, reader, query: query)
                #expect(page.names.count == 1)
                names += page.names
                guard let next = page.next else { break }
                query = "limit=1&cursor=\(next)"
            }
            #expect(names == ["beta/b", "beta/c", "beta/d", "gamma/f"])
        }
    }

    /// A cursor the caller made up — the base64url of a model name, as cursors used to be —
    /// is refused, on store-paged and in-memory lists alike.
    @Test func aForgedCursorIsRefused() async throws {
        try await APIHarness.with { _, client in
            for model in ["acme/a", "acme/b"] { _ = try await APIHarness.push(client, model: model, files: ["config.json": Self.weights]) }
            let forged = Data("acme/a".utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            for uri in ["/api/v1/models?cursor=\(forged)", "/api/v1/models/acme/a/versions?cursor=MQ", "/api/v1/principals?cursor=\(forged)"] {
                try await client.execute(uri: uri, method: .get, headers: APIHarness.auth) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    let error = try APIHarness.decode(ErrorBody.self, response).error
                    #expect(error.code == "invalid_argument")
                    #expect(error.message == "the paging cursor is not one this server issued")
                }
            }
            // A cursor the server issued still works, and a tampered one does not.
            let first = try await Self.models(client, APIHarness.auth, query: "limit=1")
            let cursor = try #require(first.next)
            #expect(try await Self.models(client, APIHarness.auth, query: "limit=1&cursor=\(cursor)").names == ["acme/b"])
            // The first character carries the top six bits of the first byte; the last may
            // carry only padding bits, which decode to the same bytes.
            let tampered = (cursor.first == "A" ? "B" : "A") + String(cursor.dropFirst())
            try await client.execute(uri: "/api/v1/models?cursor=\(tampered)", method: .get, headers: APIHarness.auth) { #expect($0.status == .badRequest) }
        }
    }
}
