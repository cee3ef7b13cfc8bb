import VesselCore
import struct Crypto.SHA256
import Foundation
import Testing
@testable import VesselStorage

/// The signer against published vectors.
///
/// - "aws-sig-v4-test-suite" cases (AWS's SigV4 test suite, as vendored in
///   github.com/awslabs/aws-c-auth under tests/aws-signing-test-suite/v4/<case>/
///   header-signed-request.txt; `get-vanilla` and `post-x-www-form-urlencoded` from the original
///   suite's .creq/.authz files): credentials AKIDEXAMPLE, region us-east-1, service "service",
///   20150830T123600Z, payload hashed with SHA-256. The `*-unnormalized` cases are S3's
///   behaviour (paths are not normalized).
/// - The S3 developer guide's SigV4 examples ("Signature Calculations for the Authorization
///   Header: Transferring Payload in a Single Chunk": GET Object with `Range`; and
///   "Authenticating Requests: Using Query Parameters": the presigned GET of test.txt).
@Suite struct SigV4SignerTests {
    static let suiteSigner = SigV4Signer(
        credentials: S3Credentials(accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service"
    )
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z
    static let host = ("host", "example.amazonaws.com")
    static let amzDate = ("x-amz-date", "20150830T123600Z")

    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let method: String
        let path: String
        let query: [(String, String)]
        let headers: [(String, String)]
        let body: String
        let signedHeaders: String
        let signature: String
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "get-vanilla", method: "GET", path: "/", query: [], headers: [host, amzDate], body: "",
               signedHeaders: "host;x-amz-date", signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        Vector(name: "get-vanilla-query-order-key-case", method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")],
               headers: [host, amzDate], body: "",
               signedHeaders: "host;x-amz-date", signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        Vector(name: "get-header-value-trim", method: "GET", path: "/", query: [],
               headers: [host, ("My-Header1", " value1"), ("My-Header2", "\"a   b   c\""), amzDate], body: "",
               signedHeaders: "host;my-header1;my-header2;x-amz-date", signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        Vector(name: "get-utf8", method: "GET", path: "/ሴ", query: [], headers: [host, amzDate], body: "",
               signedHeaders: "host;x-amz-date", signature: "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        Vector(name: "get-space-unnormalized", method: "GET", path: "/example space/", query: [], headers: [host, amzDate], body: "",
               signedHeaders: "host;x-amz-date", signature: "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
        Vector(name: "get-slash-dot-slash-unnormalized", method: "GET", path: "/./", query: [], headers: [host, amzDate], body: "",
               signedHeaders: "host;x-amz-date", signature: "68714168e6557f8f2de0ef956fc24dc2593a4bd2961f8df51898d8a134695145"),
        Vector(name: "get-vanilla-with-session-token", method: "GET", path: "/", query: [],
               headers: [host, amzDate, ("X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267")], body: "",
               signedHeaders: "host;x-amz-date;x-amz-security-token", signature: "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"),
        Vector(name: "post-x-www-form-urlencoded", method: "POST", path: "/", query: [],
               headers: [("Content-Type", "application/x-www-form-urlencoded"), host, amzDate], body: "Param1=value1",
               signedHeaders: "content-type;host;x-amz-date", signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
    ]

    @Test(arguments: vectors)
    func awsTestSuite(_ vector: Vector) {
        let payload = Hex.encode(SHA256Hex.hash(vector.body))
        let signed = Self.suiteSigner.sign(
            .init(method: vector.method, path: vector.path, query: vector.query, headers: vector.headers),
            payloadHash: payload, date: Self.suiteDate
        )
        #expect(signed.signedHeaders == vector.signedHeaders)
        #expect(signed.signature == vector.signature, "\(signed.canonicalRequest)")
        #expect(signed.authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=\(vector.signedHeaders), Signature=\(vector.signature)")
    }

    @Test func getVanillaStages() {
        let signed = Self.suiteSigner.sign(.init(method: "GET", path: "/", headers: [Self.host, Self.amzDate]), payloadHash: SigV4Signer.emptyPayloadHash, date: Self.suiteDate)
        #expect(signed.canonicalRequest == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(signed.stringToSign == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
    }

    static let s3Signer = SigV4Signer(
        credentials: S3Credentials(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1"
    )
    static let s3Date = Date(timeIntervalSince1970: 1_369_353_600)  // 20130524T000000Z

    @Test func s3GetObjectWithRange() {
        let headers = [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")]
        let added = Self.s3Signer.authorize(method: "GET", path: "/test.txt", query: [], headers: headers, payloadHash: SigV4Signer.emptyPayloadHash, date: Self.s3Date)
        let authorization = added.first { $0.0 == "Authorization" }?.1
        #expect(authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func s3PresignedGet() {
        let query = Self.s3Signer.presignedQuery(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", expires: 86400, date: Self.s3Date)
        #expect(query == "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test func sessionTokenIsSignedInHeadersAndPresignedQueries() {
        let signer = SigV4Signer(credentials: S3Credentials(accessKey: "AKIDEXAMPLE", secretKey: "secret", sessionToken: "tok/en"), region: "us-east-1")
        let added = signer.authorize(method: "GET", path: "/b/k", query: [], headers: [("host", "h")], payloadHash: SigV4Signer.unsignedPayload, date: Self.suiteDate)
        #expect(added.contains { $0 == ("x-amz-security-token", "tok/en") })
        #expect(added.contains { $0.0 == "Authorization" && $0.1.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") })
        let query = signer.presignedQuery(method: "GET", host: "h", path: "/b/k", expires: 60, date: Self.suiteDate)
        #expect(query.contains("X-Amz-Security-Token=tok%2Fen"))
    }

    @Test func keysAreEncodedOnceAndNeverNormalized() {
        #expect(SigV4Signer.canonicalURI("/bucket/a b/../c+d~e") == "/bucket/a%20b/../c%2Bd~e")
        #expect(SigV4Signer.canonicalQuery([("prefix", "p/x"), ("list-type", "2"), ("continuation-token", "a=b")]) == "continuation-token=a%3Db&list-type=2&prefix=p%2Fx")
        #expect(SigV4Signer.timestamp(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
    }
}

/// SHA-256 of a UTF-8 string, for the vectors' payloads.
enum SHA256Hex {
    static func hash(_ text: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(text.utf8)))
    }
}
