import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore

/// The API rule "a field without a value is `null`, never left out" (docs/api.md), on types
/// whose synthesized `Encodable` used to leave nil fields out.
@Suite("null fields")
struct NullFieldsAPITests {
    static func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body), options: [.fragmentsAllowed]) as? [String: Any])
    }

    /// `AuditVerification` of an intact chain: `broken_at` and `reason` are `null`.
    @Test func auditVerificationWritesNulls() async throws {
        try await APIHarness.with { _, client in
            try await client.execute(uri: "/api/v1/audit/verify", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .ok)
                let body = String(buffer: response.body)
                #expect(body.contains(#""broken_at":null"#), "\(body)")
                #expect(body.contains(#""reason":null"#), "\(body)")
                let keys = Set(try Self.object(response).keys)
                #expect(keys == ["ok", "entries", "broken_at", "reason"])
            }
        }
    }

    /// An audit entry without a previous state or a reason has `"before": null`, `"reason": null`.
    @Test func auditEntriesWriteNulls() async throws {
        try await APIHarness.with { _, client in
            try await client.execute(uri: "/api/v1/models/acme/m", method: .post, headers: APIHarness.auth, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/api/v1/audit?model=acme/m", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .ok)
                let items = try #require(try Self.object(response)["items"] as? [[String: Any]])
                let entry = try #require(items.first)
                for key in ["model", "before", "after", "request_id", "reason"] {
                    #expect(entry.keys.contains(key), "\(key) missing from \(entry)")
                }
                #expect(entry["before"] is NSNull, "\(entry)")
            }
        }
    }

    /// An error without details: `"details": null` (docs/errors.md).
    @Test func errorsWriteNullDetails() async throws {
        try await APIHarness.with { _, client in
            try await client.execute(uri: "/api/v1/models/acme/nothing", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .notFound)
                let message = try Self.message(response)
                #expect(String(buffer: response.body) == #"{"error":{"code":"not_found","details":null,"message":"\#(message)"}}"# + "\n")
            }
        }
    }

    static func message(_ response: TestResponse) throws -> String {
        let error = try #require(try object(response)["error"] as? [String: Any])
        return try #require(error["message"] as? String)
    }
}
