import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselClient
import VesselCore
@testable import VesselServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hostile request bodies, each refused with the documented error (issue 21, "Security":
/// items 8 and 11). Every case here failed before its fix; the suite stays.
@Suite struct SecurityInputTests {
    static let model = "/api/v1/models/acme/m"

    /// POSTs (or PUTs) `body` as raw bytes and returns the status and decoded error, if any.
    static func submit(_ client: any TestClientProtocol, _ uri: String, method: HTTPRequest.Method = .post, _ body: String) async throws -> (HTTPResponse.Status, ErrorBody.Inner?) {
        try await client.execute(uri: uri, method: method, headers: APIHarness.auth, body: ByteBuffer(string: body)) { response in
            (response.status, (try? APIHarness.decode(ErrorBody.self, response))?.error)
        }
    }

    /// Expects 400 `invalid_argument` whose message names every one of `words`.
    static func expectRefused(_ result: (HTTPResponse.Status, ErrorBody.Inner?), naming words: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.0 == .badRequest, "\(result)", sourceLocation: sourceLocation)
        #expect(result.1?.code == "invalid_argument", "\(result)", sourceLocation: sourceLocation)
        for word in words {
            #expect(result.1?.message.contains(word) == true, "'\(result.1?.message ?? "")' should name \(word)", sourceLocation: sourceLocation)
        }
    }

    /// A JSON string literal of `count` copies of `character`.
    static func text(_ count: Int, _ character: Character = "x") -> String { "\"\(String(repeating: character, count: count))\"" }

    static func entry(_ path: String, size: String = "1", digest: String = "sha256:" + String(repeating: "a", count: 64)) -> String {
        "{\"path\":\"\(path)\",\"size\":\(size),\"digest\":\"\(digest)\"}"
    }
}

// MARK: A manifest holding both `a` and `a/b` (item 11)

extension SecurityInputTests {
    /// A file and a folder of the same name cannot both be materialized, so such a version
    /// could be committed `ready` but never pulled: the draft is refused.
    @Test func aManifestHoldingAFileAndAFolderOfTheSameNameIsRefused() async throws {
        try await APIHarness.with { _, client in
            for files in [[Self.entry("a"), Self.entry("a/b")], [Self.entry("w/x/y"), Self.entry("w/x"), Self.entry("w-z")], [Self.entry("d/e/f"), Self.entry("d")]] {
                let result = try await Self.submit(client, "\(Self.model)/drafts", "{\"files\":[\(files.joined(separator: ","))]}")
                Self.expectRefused(result, naming: "folder")
            }
            // Siblings that share a prefix without a '/' are fine.
            let fine = try await Self.submit(client, "\(Self.model)/drafts", "{\"files\":[\(Self.entry("a")),\(Self.entry("ab/c")),\(Self.entry("a-b"))]}")
            #expect(fine.0 == .created, "\(fine)")
        }
    }
}

// MARK: Duplicate keys in JSON request bodies (item 11)

extension SecurityInputTests {
    /// Foundation's decoder keeps one of two equal keys silently, so a body could mean one
    /// thing to a proxy or audit reader and another to the server. Every request body is
    /// read by the strict reader first, which refuses a repeated key anywhere.
    @Test func duplicateKeysInARequestBodyAreRefused() async throws {
        try await APIHarness.with { _, client in
            let top = try await Self.submit(client, Self.model, "{\"description\":\"a\",\"description\":\"b\"}")
            Self.expectRefused(top, naming: "'description'", "more than once")
            let nested = try await Self.submit(client, "\(Self.model)/drafts", "{\"files\":[{\"path\":\"a\",\"size\":1,\"size\":2,\"digest\":\"sha256:\(String(repeating: "a", count: 64))\"}]}")
            Self.expectRefused(nested, naming: "'size'")
            // The same key in two different objects is fine, as is an escaped spelling of
            // another key…
            let fine = try await Self.submit(client, "\(Self.model)/drafts", "{\"files\":[\(Self.entry("a")),\(Self.entry("b"))]}")
            #expect(fine.0 == .created, "\(fine)")
            // …but an escaped spelling of the same key is the same key.
            let escaped = try await Self.submit(client, "/api/v1/models/acme/n", "{\"tags\":[],\"t\\u0061gs\":[\"x\"]}")
            Self.expectRefused(escaped, naming: "'tags'")
            let many = (0..<40).map { "\"k\($0)\":1" }.joined(separator: ",")
            let late = try await Self.submit(client, "\(Self.model)/versions/1/checks", "{\"name\":\"eval\",\"status\":\"passed\",\"metrics\":{\(many),\"k7\":2}}")
            Self.expectRefused(late, naming: "'k7'")
        }
    }

    /// What the strict pass costs on the largest body a push sends: a draft of 100,000
    /// files. Prints the decode time with and without it (no timed assertion: the numbers
    /// go in the commit message; performance lives in benchmarks).
    @Test func strictPassOnAHundredThousandFileDraft() throws {
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let files = (0..<Manifest.maxFiles).map { "{\"path\":\"models/layer-\($0)/weights.safetensors\",\"size\":\($0),\"digest\":\"\(digest)\",\"media_type\":\"application/vnd.safetensors\"}" }
        let body = Array("{\"description\":\"d\",\"files\":[\(files.joined(separator: ","))]}".utf8)
        func time(_ work: () throws -> Void) rethrows -> Double {
            let start = ContinuousClock.now
            try work()
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        }
        var foundation = [Double](), strict = [Double]()
        for _ in 0..<3 {
            foundation.append(try time { _ = try JSONDecoder().decode(DraftRequest.self, from: Data(body)) })
            strict.append(try time { try body.withUnsafeBytes { try RequestJSON.check($0) } })
        }
        print("draft of \(Manifest.maxFiles) files, \(body.count) bytes: JSONDecoder \(foundation.map { Int($0) }) ms, strict pass \(strict.map { Int($0) }) ms")
    }
}
