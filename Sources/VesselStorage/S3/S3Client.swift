import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import VesselCore

/// A small S3 client over AsyncHTTPClient: path-style requests signed with SigV4.
///
/// Every failure is a `VesselError`: S3's XML errors become domain errors at this edge
/// (`NoSuchKey` → `not_found`, `InvalidRange` → `range_not_satisfiable`, refused credentials →
/// `unavailable` with S3's code and message), transport failures `unavailable`.
public final class S3Client: Sendable {
    public let location: S3Location
    let signer: SigV4Signer
    let http: HTTPClient
    let logger: Logger
    /// The clock used to date signatures (injected for tests).
    let now: @Sendable () -> Date

    public init(location: S3Location, credentials: S3Credentials, logger: Logger = Logger(label: "vessel.s3"), now: @escaping @Sendable () -> Date = { Date() }) {
        self.location = location
        self.signer = SigV4Signer(credentials: credentials, region: location.region)
        self.logger = logger
        self.now = now
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(120))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.decompression = .disabled
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// The decoded path of a key (or of the bucket when nil).
    func path(_ key: String?) -> String {
        guard let key else { return "/\(location.bucket)" }
        return "/\(location.bucket)/\(key)"
    }

    /// A signed request. `payloadHash` is the body's SHA-256 hex, or `UNSIGNED-PAYLOAD` for a
    /// streamed body.
    func request(_ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [], payloadHash: String = SigV4Signer.emptyPayloadHash) -> HTTPClientRequest {
        let path = path(key)
        let queryText = SigV4Signer.canonicalQuery(query)
        var request = HTTPClientRequest(url: location.endpoint + SigV4Signer.canonicalURI(path) + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = method
        let signed = [("host", location.hostHeader)] + headers
        let added = signer.authorize(method: method.rawValue, path: path, query: query, headers: signed, payloadHash: payloadHash, date: now())
        for (name, value) in signed + added { request.headers.add(name: name, value: value) }
        return request
    }

    /// A presigned URL for `method` on `key`, valid for `expires` seconds.
    public func presignedURL(_ method: HTTPMethod = .GET, key: String, expires: Int) -> String {
        let path = path(key)
        let query = signer.presignedQuery(method: method.rawValue, host: location.hostHeader, path: path, expires: expires, date: now())
        return location.endpoint + SigV4Signer.canonicalURI(path) + "?" + query
    }

    /// Attempts of a replayable request (no streamed body, not `POST`) that meets a transient
    /// failure: a refused or dropped connection, or 500/502/503/504 (`SlowDown`, `InternalError`).
    static let attempts = 3

    /// Sends a request; statuses outside `expect` become errors (S3's XML error decoded).
    /// Replayable requests are retried with a short back-off on transient failures; a
    /// streamed body (`replayable: false`) is sent once.
    func send(_ request: HTTPClientRequest, expect: Set<UInt> = [200], timeout: TimeAmount = .seconds(120), replayable: Bool = true, action: String) async throws -> HTTPClientResponse {
        let tries = replayable && request.method != .POST ? Self.attempts : 1
        var attempt = 0
        while true {
            attempt += 1
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: timeout)
            } catch let error as VesselError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let failure = VesselError(.unavailable, "cannot reach object storage at \(location.endpoint) to \(action): \(Self.describe(error))")
                // A connection that was never made will not be made by retrying at once.
                guard attempt < tries, !Self.describe(error).hasPrefix("conn") else { throw failure }
                try await Task.sleep(for: .milliseconds(100 << attempt))
                continue
            }
            guard expect.contains(response.status.code) else {
                let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
                if attempt < tries, [500, 502, 503, 504].contains(response.status.code) {
                    logger.debug("object storage answered \(response.status.code); retrying", metadata: ["action": "\(action)"])
                    try await Task.sleep(for: .milliseconds(100 << attempt))
                    continue
                }
                throw S3Failure(status: response.status.code, body: body).vesselError(action: action, location: location)
            }
            return response
        }
    }

    /// Sends a request and returns its whole (small) body.
    func sendCollect(_ request: HTTPClientRequest, expect: Set<UInt> = [200], timeout: TimeAmount = .seconds(120), action: String) async throws -> [UInt8] {
        let response = try await send(request, expect: expect, timeout: timeout, action: action)
        do {
            return Array(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        } catch {
            throw VesselError(.unavailable, "object storage at \(location.endpoint) broke off its answer while the server tried to \(action)")
        }
    }

    func parse(_ bytes: [UInt8], action: String) throws -> S3XML {
        do { return try S3XML.parse(bytes) } catch {
            throw VesselError(.internalError, "object storage sent an answer that could not be read while the server tried to \(action)")
        }
    }

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("connectTimeout") { return "connection timed out" }
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("deadlineExceeded") { return "no answer in time" }
        return text
    }
}

/// An S3 error answer: status, and `Code`/`Message` from the XML body when there is one.
struct S3Failure: Error {
    let status: UInt
    let code: String
    let message: String

    init(status: UInt, body: [UInt8]) {
        self.status = status
        let xml = try? S3XML.parse(body)
        code = xml?.value("Code") ?? ""
        message = xml?.value("Message") ?? ""
    }

    func vesselError(action: String, location: S3Location) -> VesselError {
        let said = code.isEmpty ? "HTTP \(status)" : (message.isEmpty ? code : "\(code): \(message)")
        switch code {
        case "NoSuchKey", "NoSuchVersion":
            return .notFound("the object does not exist in \(location)")
        case "NoSuchUpload":
            return .notFound("the multipart upload no longer exists in \(location) (aborted or expired); start a new upload")
        case "NoSuchBucket":
            return VesselError(.unavailable, "bucket '\(location.bucket)' does not exist at \(location.endpoint); create it (vessel serve --create-bucket) or fix --storage")
        case "InvalidRange":
            return VesselError(.rangeNotSatisfiable, "the requested range is outside the object")
        case "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken", "ExpiredToken", "RequestTimeTooSkewed", "AuthorizationHeaderMalformed":
            return VesselError(.unavailable, "object storage at \(location.endpoint) refused the server's credentials while it tried to \(action) (\(said)); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN")
        case "BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest":
            return VesselError(.digestMismatch, "object storage received bytes that do not match their checksum (\(said)); send them again")
        case "EntityTooSmall", "InvalidPart", "InvalidPartOrder":
            return VesselError(.invalidArgument, "object storage refused the parts of an upload (\(said))")
        default:
            break
        }
        switch status {
        case 404: return .notFound("the object does not exist in \(location)")
        case 403: return VesselError(.unavailable, "object storage at \(location.endpoint) refused the server's credentials while it tried to \(action) (\(said)); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN")
        case 416: return VesselError(.rangeNotSatisfiable, "the requested range is outside the object")
        case 507: return VesselError(.insufficientStorage, "object storage is full (\(said)); nothing was stored")
        default: return VesselError(.unavailable, "object storage at \(location.endpoint) failed to \(action) (\(said))")
        }
    }
}
