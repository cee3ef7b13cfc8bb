import VesselCore
import struct Crypto.HMAC
import struct Crypto.SHA256
import struct Crypto.SymmetricKey
import Foundation

/// Credentials for AWS Signature Version 4.
public struct S3Credentials: Sendable, Equatable {
    public var accessKey: String
    public var secretKey: String
    /// The session token of temporary credentials (`AWS_SESSION_TOKEN`), sent as
    /// `x-amz-security-token` and signed.
    public var sessionToken: String?

    public init(accessKey: String, secretKey: String, sessionToken: String? = nil) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
    }
}

/// AWS Signature Version 4, written by hand (no Swift AWS SDK is available).
///
/// Paths are S3-style: each segment of the *decoded* path is percent-encoded once and the path
/// is never normalized (`/./` stays `/./`), so an object key is signed exactly as sent.
/// Checked against AWS's published SigV4 test suite and the S3 documentation's examples
/// (Tests/VesselStorageTests/SigV4SignerTests.swift).
public struct SigV4Signer: Sendable {
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public let credentials: S3Credentials
    public let region: String
    public let service: String

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// A request to sign: a decoded path, decoded query parameters and the headers that
    /// will be sent (names in any case).
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(String, String)]
        public var headers: [(String, String)]

        public init(method: String, path: String, query: [(String, String)] = [], headers: [(String, String)]) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
        }
    }

    /// The pieces of one signature, kept apart so tests can compare each stage.
    public struct Signature: Sendable {
        public let canonicalRequest: String
        public let stringToSign: String
        public let signature: String
        public let signedHeaders: String
        public let authorization: String
    }

    /// Signs `request` for the `Authorization` header. The caller must already have put
    /// `host` and `x-amz-date` (and `x-amz-content-sha256`, `x-amz-security-token` where they
    /// apply) into `request.headers`; every header given is signed.
    public func sign(_ request: Request, payloadHash: String, date: Date) -> Signature {
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(request.headers)
        let canonical = [
            request.method,
            Self.canonicalURI(request.path),
            Self.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let stamp = Self.timestamp(date)
        let scope = "\(stamp.prefix(8))/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, Hex.encode(SHA256.hash(data: Data(canonical.utf8)))].joined(separator: "\n")
        let signature = Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: String(stamp.prefix(8)))))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(canonicalRequest: canonical, stringToSign: stringToSign, signature: signature, signedHeaders: signedHeaders, authorization: authorization)
    }

    /// The headers to add to a request before it is sent: `x-amz-date`, `x-amz-content-sha256`,
    /// `x-amz-security-token` when there is one, and `Authorization`. `headers` must contain
    /// `host` and anything else to sign (`range`, `content-type`, other `x-amz-*`).
    public func authorize(method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String, date: Date) -> [(String, String)] {
        var added = [("x-amz-date", Self.timestamp(date)), ("x-amz-content-sha256", payloadHash)]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        let signed = sign(Request(method: method, path: path, query: query, headers: headers + added), payloadHash: payloadHash, date: date)
        return added + [("Authorization", signed.authorization)]
    }

    /// A presigned URL's query (everything after `?`), valid `expires` seconds from `date`.
    /// Only `host` is signed and the payload is `UNSIGNED-PAYLOAD`, as S3 expects.
    public func presignedQuery(method: String, host: String, path: String, query: [(String, String)] = [], expires: Int, date: Date) -> String {
        let stamp = Self.timestamp(date)
        let scope = "\(stamp.prefix(8))/\(region)/\(service)/aws4_request"
        var params = query + [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(credentials.accessKey)/\(scope)"),
            ("X-Amz-Date", stamp),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        if let token = credentials.sessionToken { params.append(("X-Amz-Security-Token", token)) }
        let signed = sign(Request(method: method, path: path, query: params, headers: [("host", host)]), payloadHash: Self.unsignedPayload, date: date)
        return Self.canonicalQuery(params) + "&X-Amz-Signature=" + signed.signature
    }

    func signingKey(day: String) -> SymmetricKey {
        func mac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key))
        }
        let secret = SymmetricKey(data: Data("AWS4\(credentials.secretKey)".utf8))
        return mac(mac(mac(mac(secret, day), region), service), "aws4_request")
    }
}
