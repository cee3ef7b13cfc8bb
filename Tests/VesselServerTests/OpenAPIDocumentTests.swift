import Foundation
import HummingbirdTesting
import Testing
@testable import VesselServer

/// The OpenAPI document of `/api/v1` (docs/openapi.json) names every route of the route table
/// with its permission, and is served without a token.
@Suite struct OpenAPIDocumentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyAPIRouteIsDocumentedWithItsPermission() async throws {
        try await APIHarness.with { harness, _ in
            let routes = Set(harness.registry.makeRouter().routes.filter { $0.split(separator: " ")[1].hasPrefix("/api/v1/") })
            let documented = Set(OpenAPIDocument.operations.map { "\($0.method) \($0.path) \($0.permission.rawValue)" })
            #expect(routes.subtracting(documented).sorted() == [], "routes missing from OpenAPIDocument.operations (or with another permission)")
            #expect(documented.subtracting(routes).sorted() == [], "documented operations without a route")
        }
    }

    @Test func documentIsOpenAPI31WithTheErrorObject() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: OpenAPIDocument.bytes) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var count = 0
        for (path, methods) in paths {
            #expect(path.hasPrefix("/api/v1/") && !path.contains(":"), "\(path)")
            for (method, value) in methods {
                count += 1
                let operation = try #require(value as? [String: Any])
                let permission = try #require(operation["x-vessel-permission"] as? String, "\(method) \(path)")
                #expect((operation["description"] as? String)?.contains("`\(permission)`") == true, "\(method) \(path)")
                let responses = try #require(operation["responses"] as? [String: Any])
                let error = try #require(responses["default"] as? [String: Any], "\(method) \(path)")
                #expect(String(describing: error).contains("#/components/schemas/Error"), "\(method) \(path)")
            }
        }
        #expect(count == OpenAPIDocument.operations.count, "two operations share a method and path")
    }

    /// docs/openapi.json is the served document; `VESSEL_WRITE_OPENAPI=1` rewrites it.
    @Test func repositoryCopyIsCurrent() throws {
        let file = Self.root.appendingPathComponent("docs/openapi.json")
        if ProcessInfo.processInfo.environment["VESSEL_WRITE_OPENAPI"] == "1" {
            try OpenAPIDocument.bytes.write(to: file)
        }
        let stored = try Data(contentsOf: file)
        #expect(stored == OpenAPIDocument.bytes, "docs/openapi.json is stale: run VESSEL_WRITE_OPENAPI=1 swift test --filter OpenAPIDocumentTests")
    }

    @Test func servedWithoutAToken() async throws {
        try await APIHarness.with { _, client in
            try await client.execute(uri: "/api/v1/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                #expect(Data(buffer: response.body) == OpenAPIDocument.bytes)
            }
        }
    }
}
