import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import VesselCore
@testable import VesselServer

@Suite struct AuthTests {
    @Test func healthNeedsNoToken() async throws {
        try await APIHarness.with { _, client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
        }
    }

    /// Every API route refuses a request without a token, a malformed header and an unknown
    /// token, with the error shape of the conventions — built from the router's own route list.
    @Test func everyAPIRouteNeedsAToken() async throws {
        try await APIHarness.with { harness, client in
            let routes = harness.registry.makeRouter().routes
            #expect(routes.count >= 20)
            for route in routes {
                let parts = route.split(separator: " ")
                let method = HTTPRequest.Method(rawValue: String(parts[0]))!
                // The OpenAPI document is public by design (issue 28: served without a token).
                if parts[1] == "/api/v1/openapi.json" {
                    #expect(parts[2] == "anonymous", "\(route)")
                    try await client.execute(uri: String(parts[1]), method: method) { #expect($0.status == .ok, "\(route)") }
                    continue
                }
                #expect(parts[2] != "anonymous", "\(route) must not be anonymous")
                let uri = String(parts[1])
                    .replacingOccurrences(of: ":owner", with: "acme").replacingOccurrences(of: ":name", with: "m")
                    .replacingOccurrences(of: ":version", with: "1").replacingOccurrences(of: ":alias", with: "prod")
                    .replacingOccurrences(of: ":digest", with: "sha256:" + String(repeating: "0", count: 64))
                    .replacingOccurrences(of: ":draft", with: "d").replacingOccurrences(of: ":id", with: "tok_x")
                    .replacingOccurrences(of: ":revision", with: "main").replacingOccurrences(of: "/**", with: "/config.json")
                for headers: HTTPFields in [[:], [.authorization: "Basic abc"], [.authorization: "Bearer vsl_wrong"]] {
                    try await client.execute(uri: uri, method: method, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(route) with \(headers)")
                        if uri.hasPrefix("/hf/") {
                            // The Hub's error shape: the client shows X-Error-Message (docs/huggingface.md).
                            #expect(response.headers[HTTPFields.Element.Name("X-Error-Message")!] != nil, "\(route)")
                        } else if uri.hasPrefix("/api/2.0/") {
                            // MLflow's error shape (docs/mlflow.md), which its client shows.
                            let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                            #expect(body?["error_code"] as? String == "UNAUTHENTICATED", "\(route)")
                        } else if method != .head {
                            #expect(APIHarness.errorCode(response) == "unauthenticated", "\(route)")
                        }
                    }
                }
            }
        }
    }

    @Test func tokensExpireAndRevoke() async throws {
        // The registry's clock, stopped and moved by the test rather than waited for (a loaded
        // machine once took more than the token's second between creating and using it); no
        // read cache, whose lifetime runs on real time (HotReadCacheTests covers it).
        let later = Mutex<Int64>(0)
        let start = Timestamp.micros(Date())
        try await APIHarness.with(configure: { $0.readCacheLifetime = .zero }, clock: { start + later.withLock { $0 } }) { _, client in
            try await client.execute(uri: "/api/v1/principals", method: .post, headers: APIHarness.auth, body: APIHarness.json(CreatePrincipalRequest(name: "ci", kind: .service))) {
                #expect($0.status == .created)
            }
            try await client.execute(uri: "/api/v1/principals", method: .post, headers: APIHarness.auth, body: APIHarness.json(CreatePrincipalRequest(name: "ci", kind: .service))) {
                #expect($0.status == .conflict)
                #expect(APIHarness.errorCode($0) == "already_exists")
            }
            let created = try await client.execute(uri: "/api/v1/tokens", method: .post, headers: APIHarness.auth, body: APIHarness.json(CreateTokenRequest(principal: "ci", name: "t", expiresInSeconds: 1))) {
                try APIHarness.decode(CreatedToken.self, $0)
            }
            #expect(created.token.hasPrefix("vsl_") && created.expiresAt != nil)
            // An expiry whose microseconds overflow (schemathesis found it crashing the server) is a 400.
            for seconds: Int64 in [233_580_584_023_813, 3_155_760_001, 0] {
                try await client.execute(uri: "/api/v1/tokens", method: .post, headers: APIHarness.auth, body: APIHarness.json(CreateTokenRequest(principal: "ci", name: nil, expiresInSeconds: seconds))) {
                    #expect($0.status == .badRequest, "\(seconds)")
                    #expect(APIHarness.errorCode($0) == "invalid_argument")
                }
            }
            let bearer: HTTPFields = [.authorization: "Bearer \(created.token)"]
            try await client.execute(uri: "/api/v1/whoami", method: .get, headers: bearer) { response in
                let me = try APIHarness.decode(WhoAmI.self, response)
                #expect(me.principal == "ci")
            }
            later.withLock { $0 = 1_200_000 }
            try await client.execute(uri: "/api/v1/whoami", method: .get, headers: bearer) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("expired"))
            }
            let lasting = try await client.execute(uri: "/api/v1/tokens", method: .post, headers: APIHarness.auth, body: APIHarness.json(CreateTokenRequest(principal: "ci", name: nil, expiresInSeconds: nil))) {
                try APIHarness.decode(CreatedToken.self, $0)
            }
            try await client.execute(uri: "/api/v1/tokens/\(lasting.id)", method: .delete, headers: APIHarness.auth) { #expect($0.status == .noContent) }
            try await client.execute(uri: "/api/v1/whoami", method: .get, headers: [.authorization: "Bearer \(lasting.token)"]) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("revoked"))
            }
            // The token list never shows secrets.
            try await client.execute(uri: "/api/v1/tokens", method: .get, headers: APIHarness.auth) { response in
                #expect(!String(buffer: response.body).contains(lasting.token))
            }
        }
    }
}
