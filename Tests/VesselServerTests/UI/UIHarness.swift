import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

/// A browser's view of the web UI for the in-process tests: signs in through the real form
/// (its form token cookie included) and keeps the session cookie and the page's form token.
struct UIBrowser {
    let client: any TestClientProtocol
    var session: String?
    var csrf: String?

    init(_ client: any TestClientProtocol) {
        self.client = client
    }

    var cookieHeader: HTTPFields {
        guard let session else { return [:] }
        return [.cookie: "\(UICookies.session)=\(session)"]
    }

    /// Signs in with `token` through `GET` and `POST /ui/login`; returns the POST's status.
    @discardableResult
    mutating func signIn(_ token: String) async throws -> HTTPResponse.Status {
        let (loginCookie, formToken) = try await client.execute(uri: "/ui/login", method: .get) { response in
            (try #require(Self.cookie(UICookies.login, in: response)), try #require(Self.formToken(String(buffer: response.body))))
        }
        let body = "csrf=\(formToken)&token=\(UIPage.query(token))&next=%2Fui%2Fmodels"
        let (status, session) = try await client.execute(uri: "/ui/login", method: .post,
                                                         headers: [.cookie: "\(UICookies.login)=\(loginCookie)", .contentType: "application/x-www-form-urlencoded"],
                                                         body: ByteBuffer(string: body)) { response in
            (response.status, Self.cookie(UICookies.session, in: response))
        }
        if status == .seeOther, let session {
            self.session = session
            _ = try await get("/ui/models")
        }
        return status
    }

    /// GETs a page with the session cookie, remembering its form token.
    mutating func get(_ uri: String) async throws -> (status: HTTPResponse.Status, html: String, headers: HTTPFields) {
        let answer = try await client.execute(uri: uri, method: .get, headers: cookieHeader) { response in
            (response.status, String(buffer: response.body), response.headers)
        }
        if let token = Self.formToken(answer.1) { csrf = token }
        return answer
    }

    /// POSTs a form with the session cookie; `csrf: nil` leaves the form token out.
    func post(_ uri: String, form: [String: String] = [:], csrf: String?) async throws -> (status: HTTPResponse.Status, html: String, headers: HTTPFields) {
        var fields = form
        if let csrf { fields["csrf"] = csrf }
        let body = fields.map { "\(UIPage.query($0.key))=\(UIPage.query($0.value))" }.joined(separator: "&")
        return try await client.execute(uri: uri, method: .post, headers: cookieHeader + [.contentType: "application/x-www-form-urlencoded"],
                                        body: ByteBuffer(string: body)) { response in
            (response.status, String(buffer: response.body), response.headers)
        }
    }

    static func cookie(_ name: String, in response: TestResponse) -> String? {
        for header in response.headers[values: .setCookie] where header.hasPrefix("\(name)=") {
            let value = header.dropFirst(name.count + 1).prefix { $0 != ";" }
            return value.isEmpty ? nil : String(value)
        }
        return nil
    }

    static func formToken(_ html: String) -> String? {
        guard let range = html.range(of: #"name="csrf" value=""#) else { return nil }
        let rest = html[range.upperBound...]
        let value = rest.prefix { $0 != "\"" }
        return value.isEmpty ? nil : String(value)
    }
}

extension APIHarness {
    /// The token `principal(_:_:)` created for `name`.
    static func token(of name: String) -> String { "vsl_test-\(name)" }
}
