import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import VesselCore
@testable import VesselStorage

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
