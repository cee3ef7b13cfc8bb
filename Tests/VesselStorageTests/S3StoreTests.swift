import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import VesselCore
@testable import VesselStorage

#if canImport(Glibc)
import Glibc
#endif

/// The S3 store's own behaviour: configuration parsing, XML errors, and — against a real
/// server (`VESSEL_TEST_S3_URL`, see `BlobHarness`) — credentials, buckets and presigned URLs.
@Suite struct S3StoreTests {
    @Test func parsesStorageURLs() throws {
        let location = try S3Location(parsing: "s3://models/team/blobs?endpoint=http://127.0.0.1:7480&region=eu-west-1")
        #expect(location.bucket == "models" && location.prefix == "team/blobs" && location.region == "eu-west-1")
        #expect(location.endpoint == "http://127.0.0.1:7480" && location.hostHeader == "127.0.0.1:7480")
        #expect(location.key("blobs/sha256/ab") == "team/blobs/blobs/sha256/ab")
        let aws = try S3Location(parsing: "s3://models")
        #expect(aws.endpoint == "https://s3.us-east-1.amazonaws.com" && aws.prefix == "" && aws.hostHeader == "s3.us-east-1.amazonaws.com")
        for bad in ["http://models", "s3://", "s3://Bad_Bucket", "s3://models?endpoint=ftp://x", "s3://models?colour=blue"] {
            #expect(throws: VesselError.self, "\(bad)") { try S3Location(parsing: bad) }
        }
    }

    @Test func readsS3ErrorDocuments() throws {
        let body = Array("""
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>SignatureDoesNotMatch</Code><Message>a &amp; b &lt;c&gt; &#x41;</Message><RequestId>tx1</RequestId></Error>
            """.utf8)
        let failure = S3Failure(status: 403, body: body)
        #expect(failure.code == "SignatureDoesNotMatch" && failure.message == "a & b <c> A")
        let error = failure.vesselError(action: "read", location: S3Location(bucket: "b", endpoint: "http://h:1"))
        #expect(error.code == .unavailable && error.message.contains("SignatureDoesNotMatch") && error.message.contains("AWS_SECRET_ACCESS_KEY"))
        let list = try S3XML.parse(Array("<ListPartsResult xmlns=\"x\"><Part><PartNumber>2</PartNumber><ETag>&quot;ab&quot;</ETag><Size>5</Size></Part><IsTruncated>false</IsTruncated><Empty/></ListPartsResult>".utf8))
        #expect(list.all("Part").first?.value("ETag") == "\"ab\"" && list.value("IsTruncated") == "false" && list.child("Empty") != nil)
        #expect(throws: (any Error).self) { try S3XML.parse(Array("<a><b></a>".utf8)) }
    }

    // Time limits, not timed assertions: under a parallel test run wall-clock times say little,
    // but a hang (a retrying pool, a missing timeout) would never finish.
    @Test(.timeLimit(.minutes(2))) func unreachableEndpointFailsFast() async throws {
        await expectCode(.unavailable) {
            _ = try await S3BlobStore.open(S3Location(bucket: "vessel", endpoint: "http://127.0.0.1:9"), credentials: S3Credentials(accessKey: "a", secretKey: "b"))
        }
    }

    @Test(.enabled(if: BlobHarness.s3Config != nil), .timeLimit(.minutes(2))) func wrongCredentialsAreAClearErrorAtOpen() async throws {
        let config = try #require(BlobHarness.s3Config)
        for (credentials, code) in [
            (S3Credentials(accessKey: config.credentials.accessKey, secretKey: "not-the-secret"), "SignatureDoesNotMatch"),
            (S3Credentials(accessKey: "no-such-key", secretKey: "x"), "InvalidAccessKeyId"),
        ] {
            do {
                let (store, _) = try await S3BlobStore.open(config.location, credentials: credentials)
                await store.shutdown()
                Issue.record("wrong credentials were accepted")
            } catch let error as VesselError {
                #expect(error.code == .unavailable && error.message.contains(code), "\(error.message)")
            }
        }
    }

    @Test(.enabled(if: BlobHarness.s3Config != nil)) func missingBucketsAreNamedOrCreated() async throws {
        let config = try #require(BlobHarness.s3Config)
        var location = config.location
        location.bucket = "vessel-missing-\(UInt32.random(in: 0...UInt32.max))"
        location.prefix = ""
        do {
            _ = try await S3BlobStore.open(location, credentials: config.credentials)
            Issue.record("a missing bucket was accepted")
        } catch let error as VesselError {
            #expect(error.code == .notFound && error.message.contains("--create-bucket"))
        }
        let (store, status) = try await S3BlobStore.open(location, credentials: config.credentials, createBucket: true)
        #expect(status.created && status.versioning == nil)
        try await store.client.deleteBucket()
        await store.shutdown()
    }

    @Test(.enabled(if: BlobHarness.s3Config != nil)) func abandonedWritesAreSweptOnlyWhenOld() async throws {
        try await BlobHarness.withStore("s3") { store, subject in
            let s3 = try #require(store as? S3BlobStore)
            let bytes = BlobHarness.bytes(9 << 20)
            // A write cut after its first part, as a crashed replica leaves it.
            let writer = try await store.makeWriter(expecting: BlobHarness.digest(bytes), size: UInt64(bytes.count))
            try await writer.write(ByteBuffer(bytes: bytes))
            #expect(try await subject.leftovers().count == 1)
            #expect(try await s3.sweepAbandonedWrites() == 0)
            #expect(try await s3.sweepAbandonedWrites(now: Date().addingTimeInterval(2 * 24 * 3600)) == 1)
            #expect(try await subject.leftovers().isEmpty)
            await writer.abort()
        }
    }

    @Test(.enabled(if: BlobHarness.s3Config != nil)) func presignedURLsWorkAndTamperingIsRefused() async throws {
        try await BlobHarness.withStore("s3") { store, _ in
            let s3 = try #require(store as? S3BlobStore)
            let bytes = BlobHarness.bytes(4000)
            let digest = BlobHarness.digest(bytes)
            try await BlobHarness.write(store, bytes)
            let url = s3.presignedURL(for: digest, expires: 300)
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            func get(_ url: String) async throws -> (UInt, [UInt8]) {
                let response = try await http.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
                return (response.status.code, Array(try await response.body.collect(upTo: 1 << 20).readableBytesView))
            }
            do {
                let (status, body) = try await get(url)
                #expect(status == 200 && body == bytes)
                // One changed hex digit of the signature; another key under the same signature.
                let last = url.last == "0" ? "1" : "0"
                let (tampered, _) = try await get(String(url.dropLast()) + last)
                #expect(tampered == 403)
                let other = url.replacingOccurrences(of: digest.hex, with: BlobHarness.digest([1]).hex)
                let (moved, _) = try await get(other)
                #expect(moved == 403)
            } catch {
                try? await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
    }
}

/// A one-thread HTTP server on loopback that answers each request with the next canned
/// response (the last one repeats), counting requests: enough to see retries on the wire.
final class CannedHTTPServer: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let responses: [String]
    private let lock = NSLock()
    private var served = 0
    var requests: Int { lock.lock(); defer { lock.unlock() }; return served }

    init(_ responses: [String]) throws {
        self.responses = responses
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &length) } }
        listen(sock, 16)
        fd = sock
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    private func serve() {
        while true {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 65536)
            var request: [UInt8] = []
            while !request.ends(with: Array("\r\n\r\n".utf8)) {
                let n = read(client, &buffer, buffer.count)
                guard n > 0 else { break }
                request += buffer[0..<n]
            }
            let index: Int = { lock.lock(); defer { lock.unlock() }; served += 1; return min(served - 1, responses.count - 1) }()
            let body = responses[index]
            let status = body.contains("<Error>") ? "503 Slow Down" : "200 OK"
            let text = "HTTP/1.1 \(status)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            _ = text.withCString { write(client, $0, strlen($0)) }
            close(client)
        }
    }

    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

@Suite struct S3RetryTests {
    @Test(.timeLimit(.minutes(1))) func transientFailuresAreRetried() async throws {
        let slowDown = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        let server = try CannedHTTPServer([slowDown, slowDown, "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"])
        defer { server.stop() }
        let (store, status) = try await S3BlobStore.open(S3Location(bucket: "vessel", endpoint: "http://127.0.0.1:\(server.port)"), credentials: S3Credentials(accessKey: "a", secretKey: "b"))
        await store.shutdown()
        #expect(status.versioning == "Enabled" && server.requests == 3)
    }

    @Test(.timeLimit(.minutes(1))) func persistentFailuresNameTheCode() async throws {
        let server = try CannedHTTPServer(["<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"])
        defer { server.stop() }
        await expectCode(.unavailable) {
            _ = try await S3BlobStore.open(S3Location(bucket: "vessel", endpoint: "http://127.0.0.1:\(server.port)"), credentials: S3Credentials(accessKey: "a", secretKey: "b"))
        }
        #expect(server.requests == S3Client.attempts)
    }
}
