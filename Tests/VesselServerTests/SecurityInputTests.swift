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

// MARK: Caps on free text (item 8)

extension SecurityInputTests {
    /// A description could be 64 MiB (the body cap); three such versions made one list
    /// answer 189 MB. Every free-text field has a cap (`Limits`), and a longer value is
    /// refused with `invalid_argument` naming the field and its limit.
    @Test func everyFreeTextFieldIsCapped() async throws {
        try await APIHarness.with { harness, client in
            // At the limit is fine; one byte more is refused. Bytes, not characters: 'é' is two.
            #expect(try await Self.submit(client, Self.model, "{\"description\":\(Self.text(Limits.description))}").0 == .created)
            Self.expectRefused(try await Self.submit(client, "/api/v1/models/acme/n", "{\"description\":\(Self.text(Limits.description + 1))}"), naming: "description", "\(Limits.description)")
            Self.expectRefused(try await Self.submit(client, "/api/v1/models/acme/n", "{\"description\":\(Self.text(Limits.description / 2 + 1, "é"))}"), naming: "description")
            Self.expectRefused(try await Self.submit(client, "/api/v1/models/acme/n", "{\"tags\":[\(Self.text(Limits.tag + 1))]}"), naming: "tag", "\(Limits.tag)")
            let tags = (0...Limits.tagsPerModel).map { "\"t\($0)\"" }.joined(separator: ",")
            Self.expectRefused(try await Self.submit(client, "/api/v1/models/acme/n", "{\"tags\":[\(tags)]}"), naming: "tags", "\(Limits.tagsPerModel)")
            Self.expectRefused(try await Self.submit(client, "\(Self.model)/drafts", "{\"files\":[\(Self.entry("a"))],\"description\":\(Self.text(Limits.description + 1))}"), naming: "description")
            let mediaType = "{\"path\":\"a\",\"size\":1,\"digest\":\"sha256:\(String(repeating: "a", count: 64))\",\"media_type\":\(Self.text(Limits.mediaType + 1))}"
            Self.expectRefused(try await Self.submit(client, "\(Self.model)/drafts", "{\"files\":[\(mediaType)]}"), naming: "media_type", "\(Limits.mediaType)")

            let reason = Self.text(Limits.reason + 1)
            Self.expectRefused(try await Self.submit(client, "\(Self.model)/promote", "{\"version\":1,\"to\":\"prod\",\"reason\":\(reason)}"), naming: "reason", "\(Limits.reason)")
            Self.expectRefused(try await Self.submit(client, "\(Self.model)/aliases/prod", method: .put, "{\"version\":1,\"reason\":\(reason)}"), naming: "reason")
            Self.expectRefused(try await Self.submit(client, "/api/v1/requests/r1/approve", "{\"reason\":\(reason)}"), naming: "reason")
            Self.expectRefused(try await Self.submit(client, "/api/v1/requests/r1/reject", "{\"reason\":\(reason)}"), naming: "reason")

            let checks = "\(Self.model)/versions/1/checks"
            Self.expectRefused(try await Self.submit(client, checks, "{\"name\":\(Self.text(Limits.checkName + 1)),\"status\":\"passed\",\"metrics\":{}}"), naming: "check name", "\(Limits.checkName)")
            Self.expectRefused(try await Self.submit(client, checks, "{\"name\":\"eval\",\"status\":\"passed\",\"metrics\":{\(Self.text(Limits.metricName + 1)):1}}"), naming: "metric name", "\(Limits.metricName)")
            let metrics = (0...Limits.metricsPerCheck).map { "\"m\($0)\":1" }.joined(separator: ",")
            Self.expectRefused(try await Self.submit(client, checks, "{\"name\":\"eval\",\"status\":\"passed\",\"metrics\":{\(metrics)}}"), naming: "metrics", "\(Limits.metricsPerCheck)")
            let longURL = "\"https://ci.example.com/\(String(repeating: "x", count: Limits.url))\""
            Self.expectRefused(try await Self.submit(client, checks, "{\"name\":\"eval\",\"status\":\"passed\",\"metrics\":{},\"url\":\(longURL)}"), naming: "url", "\(Limits.url)")
            Self.expectRefused(try await Self.submit(client, checks, "{\"name\":\"eval\",\"status\":\(Self.text(Limits.checkName + 1)),\"metrics\":{}}"), naming: "status")
            Self.expectRefused(try await Self.submit(client, "/api/v1/webhooks", "{\"url\":\(longURL)}"), naming: "url", "\(Limits.url)")
            Self.expectRefused(try await Self.submit(client, "/api/v1/tokens", "{\"principal\":\"admin\",\"name\":\(Self.text(Limits.name + 1))}"), naming: "name", "\(Limits.name)")

            // Nothing refused was stored.
            let models = try await harness.registry.store.listModels(readable: [.registry], limit: 100, cursor: nil)
            #expect(models.items.map(\.model.description) == ["acme/m"])
        }
    }

    /// Lists page (`limit` ≤ 1000), and a version list carries no manifests: its size is
    /// bounded by the page size times the capped fields.
    @Test func listsAreBounded() async throws {
        try await APIHarness.with { _, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["a.txt": [1], "b.txt": [2]])
            for list in ["/api/v1/models", "\(Self.model)/versions", "\(Self.model)/aliases", "/api/v1/grants", "/api/v1/webhooks", "/api/v1/requests", "\(Self.model)/audit"] {
                let refused = try await client.execute(uri: "\(list)?limit=\(Limits.pageSize + 1)", method: .get, headers: APIHarness.auth) { $0.status }
                #expect(refused == .badRequest, "\(list)")
                try await client.execute(uri: "\(list)?limit=\(Limits.pageSize)", method: .get, headers: APIHarness.auth) { response in
                    #expect(response.status == .ok, "\(list): \(String(buffer: response.body))")
                }
            }
            let versions = try await client.execute(uri: "\(Self.model)/versions", method: .get, headers: APIHarness.auth) { try APIHarness.decode(Page<VersionInfo>.self, $0) }
            #expect(versions.items.count == 1 && versions.items.allSatisfy { $0.manifest == nil && $0.scan == nil })
        }
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

// MARK: A truncated blob body (item 11)

extension SecurityInputTests {
    /// A blob or chunk whose connection ends before `Content-Length` bytes arrived is a
    /// `size_mismatch` (422), as docs/errors.md says, not an `internal` error; nothing is stored.
    @Test func aTruncatedBlobBodyIsASizeMismatch() async throws {
        try await LiveHarness.with { harness in
            guard let port = URL(string: harness.api.config.server)?.port else { throw VesselError.internalError("no port") }
            let bytes = [UInt8](repeating: 7, count: 1000)
            let digest = APIHarness.digest(bytes)
            let head = "PUT \(Self.model)/blobs/\(digest) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(APIHarness.adminToken)\r\nContent-Length: 1000\r\n\r\n"
            let answer = try await Self.exchange(port: port, Array(head.utf8) + bytes[..<400])
            #expect(answer.hasPrefix("HTTP/1.1 422"), "\(answer.prefix(300))")
            #expect(answer.contains("\"size_mismatch\""), "\(answer.prefix(300))")
            #expect(try await harness.registry.blobs.size(of: digest) == nil)

            let session = try await harness.api.startUpload(try ModelName("acme/m"), digest: digest, size: 1000)
            let chunk = "PUT \(Self.model)/uploads/\(session.uploadId)/chunks/0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(APIHarness.adminToken)\r\nContent-Length: 1000\r\n\r\n"
            let chunkAnswer = try await Self.exchange(port: port, Array(chunk.utf8) + bytes[..<400])
            #expect(chunkAnswer.hasPrefix("HTTP/1.1 422"), "\(chunkAnswer.prefix(300))")
            #expect(chunkAnswer.contains("\"size_mismatch\""), "\(chunkAnswer.prefix(300))")
        }
    }

    /// Sends `bytes` on a new loopback connection, closes the sending side (the client is
    /// done, the server's answer can still arrive), and returns everything the server sends
    /// before it closes. Blocking socket calls run on their own thread.
    static func exchange(port: Int, _ bytes: [UInt8]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try blockingExchange(port: port, bytes) })
            }
        }
    }

    private static func blockingExchange(port: Int, _ bytes: [UInt8]) throws -> String {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw VesselError.internalError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw VesselError.internalError("connect failed") }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw VesselError.internalError("send failed") }
            sent += n
        }
        shutdown(fd, Int32(SHUT_WR))
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            answer += buffer[..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}

// MARK: Declared sizes above Int64.max (item 11)

extension SecurityInputTests {
    static let hugeSize = "18446744073709551615"  // 2^64 − 1

    /// Sizes are stored as signed 64-bit integers; a larger declared size was clamped to
    /// 2^63 − 1 and stored. It is refused wherever a size is declared.
    @Test func aDeclaredSizeAboveInt64MaxIsRefused() async throws {
        try await APIHarness.with { _, client in
            let draft = try await Self.submit(client, "\(Self.model)/drafts", "{\"files\":[\(Self.entry("big.bin", size: Self.hugeSize))]}")
            Self.expectRefused(draft, naming: "size", "9223372036854775807")
            let justAbove = try await Self.submit(client, "\(Self.model)/drafts", "{\"files\":[\(Self.entry("big.bin", size: "9223372036854775808"))]}")
            Self.expectRefused(justAbove, naming: "size")
            // Two files each within the limit, together above it.
            let half = "5000000000000000000"
            let total = try await Self.submit(client, "\(Self.model)/drafts", "{\"files\":[\(Self.entry("a.bin", size: half)),\(Self.entry("b.bin", size: half))]}")
            Self.expectRefused(total, naming: "size")
            let upload = try await Self.submit(client, "\(Self.model)/uploads", "{\"digest\":\"sha256:\(String(repeating: "b", count: 64))\",\"size\":\(Self.hugeSize)}")
            Self.expectRefused(upload, naming: "size")
        }
        // The in-process client sets Content-Length from the body, so this header goes over a socket.
        try await LiveHarness.with { harness in
            guard let port = URL(string: harness.api.config.server)?.port else { throw VesselError.internalError("no port") }
            let head = "PUT \(Self.model)/blobs/sha256:\(String(repeating: "c", count: 64)) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(APIHarness.adminToken)\r\nContent-Length: \(Self.hugeSize)\r\n\r\n"
            let answer = try await Self.exchange(port: port, Array(head.utf8) + [1, 2, 3])
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer.prefix(300))")
            #expect(answer.contains("\"invalid_argument\"") && answer.contains("9223372036854775807"), "\(answer.prefix(300))")
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
