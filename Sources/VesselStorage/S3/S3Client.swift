import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
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

    /// How calls are bounded and where their failures are reported.
    let policy: BackendPolicy
    /// The deadline of a call that moves no data in bulk, until its answer's head: the policy's
    /// timeout (`--backend-timeout`), else two minutes.
    let callTimeout: TimeAmount

    public init(location: S3Location, credentials: S3Credentials, policy: BackendPolicy = .unbounded, logger: Logger = Logger(label: "vessel.s3"), now: @escaping @Sendable () -> Date = { Date() }) {
        self.location = location
        self.signer = SigV4Signer(credentials: credentials, region: location.region)
        self.logger = logger
        self.now = now
        self.policy = policy
        self.callTimeout = policy.timeout.map { TimeAmount($0) } ?? .seconds(120)
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: min(.seconds(5), callTimeout), read: .seconds(120))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.decompression = .disabled
        // The system trust store, plus `--ca-cert` for a private endpoint; always verified.
        if let path = location.caCertPath, let roots = try? NIOSSLCertificate.fromPEMFile(path), !roots.isEmpty {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.additionalTrustRoots = [.certificates(roots)]
            configuration.tlsConfiguration = tls
        }
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
    /// failure: a dropped connection, or 500/502/503/504 (`SlowDown`, `InternalError`).
    static let attempts = 3

    /// Sends a request; statuses outside `expect` become errors (S3's XML error decoded).
    /// Replayable requests are retried with a short back-off on transient failures; a
    /// streamed body (`replayable: false`) is sent once. Every attempt together must have the
    /// answer's head within `timeout` (`callTimeout` when nil). A failure of the store itself
    /// (unreachable, no answer in time, 5xx, refused credentials, no such bucket) is reported
    /// to the policy and thrown as `unavailable`, retryable when it may pass.
    func send(_ request: HTTPClientRequest, expect: Set<UInt> = [200], timeout: TimeAmount? = nil, replayable: Bool = true, action: String) async throws -> HTTPClientResponse {
        let tries = replayable && request.method != .POST ? Self.attempts : 1
        let deadline = NIODeadline.now() + (timeout ?? callTimeout)
        var attempt = 0
        while true {
            attempt += 1
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, deadline: deadline)
            } catch let error as VesselError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let said = Self.describe(error)
                // A connection that was never made, or an answer not in time, will not come by retrying at once.
                guard attempt < tries, !said.hasPrefix("conn"), !said.hasPrefix("no answer"), Self.backOff(attempt) < deadline else {
                    throw policy.fail(BackendFailure(.storage, transient: true, "cannot reach object storage at \(location.endpoint) to \(action): \(said)"))
                }
                try await Task.sleep(for: .milliseconds(100 << attempt))
                continue
            }
            guard expect.contains(response.status.code) else {
                let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
                if attempt < tries, [500, 502, 503, 504].contains(response.status.code), Self.backOff(attempt) < deadline {
                    logger.debug("object storage answered \(response.status.code); retrying", metadata: ["action": "\(action)"])
                    try await Task.sleep(for: .milliseconds(100 << attempt))
                    continue
                }
                let failure = S3Failure(status: response.status.code, body: body)
                if let backend = failure.backendFailure(action: action, location: location) { throw policy.fail(backend) }
                throw failure.vesselError(action: action, location: location)
            }
            return response
        }
    }

    /// When a retry after `attempt` would start.
    private static func backOff(_ attempt: Int) -> NIODeadline {
        .now() + .milliseconds(Int64(100 << attempt))
    }

    /// The deadline of a call whose body of `bytes` is in memory: the call timeout plus a
    /// second a MiB, so a slow but working link is not cut while an unreachable store still
    /// fails within the call timeout (connection refused or not made).
    func transferTimeout(bytes: Int) -> TimeAmount {
        callTimeout + .seconds(Int64(bytes >> 20))
    }

    /// Whether the bucket answers a `HEAD` within `timeout`, for `/readyz`: not reported as a
    /// failure, not retried.
    public func probe(timeout: Duration) async -> Bool {
        do {
            let response = try await http.execute(request(.HEAD, key: nil), timeout: TimeAmount(timeout))
            return response.status.code == 200
        } catch {
            return false
        }
    }

    /// Sends a request and returns its whole (small) body.
    func sendCollect(_ request: HTTPClientRequest, expect: Set<UInt> = [200], timeout: TimeAmount? = nil, action: String) async throws -> [UInt8] {
        let response = try await send(request, expect: expect, timeout: timeout, action: action)
        do {
            return Array(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        } catch {
            throw policy.fail(BackendFailure(.storage, transient: true, "object storage at \(location.endpoint) broke off its answer while the server tried to \(action)"))
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
        if let failure = backendFailure(action: action, location: location) { return failure.error }
        let said = code.isEmpty ? "HTTP \(status)" : (message.isEmpty ? code : "\(code): \(message)")
        switch code {
        case "NoSuchKey", "NoSuchVersion":
            return .notFound("the object does not exist in \(location)")
        case "NoSuchUpload":
            return .notFound("the multipart upload no longer exists in \(location) (aborted or expired); start a new upload")
        case "InvalidRange":
            return VesselError(.rangeNotSatisfiable, "the requested range is outside the object")
        case "BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest":
            return VesselError(.digestMismatch, "object storage received bytes that do not match their checksum (\(said)); send them again")
        case "EntityTooSmall", "InvalidPart", "InvalidPartOrder":
            return VesselError(.invalidArgument, "object storage refused the parts of an upload (\(said))")
        default:
            break
        }
        switch status {
        case 404: return .notFound("the object does not exist in \(location)")
        case 416: return VesselError(.rangeNotSatisfiable, "the requested range is outside the object")
        case 507: return VesselError(.insufficientStorage, "object storage is full (\(said)); nothing was stored")
        default: return VesselError(.unavailable, "object storage at \(location.endpoint) failed to \(action) (\(said))")
        }
    }

    /// The answer as a failure of the store itself, or nil when it is about the request (no
    /// such object, a bad range or checksum). Permanent: refused credentials (`403`,
    /// `SignatureDoesNotMatch`, `InvalidAccessKeyId`, …) and a missing bucket, which only an
    /// operator can fix; transient: the store's own errors (`5xx`: `SlowDown`, `InternalError`,
    /// a gateway with no backend).
    func backendFailure(action: String, location: S3Location) -> BackendFailure? {
        let said = code.isEmpty ? "HTTP \(status)" : (message.isEmpty ? code : "\(code): \(message)")
        switch code {
        case "NoSuchBucket":
            return BackendFailure(.storage, transient: false, "bucket '\(location.bucket)' does not exist at \(location.endpoint); create it (vessel serve --create-bucket) or fix --storage")
        case "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken", "ExpiredToken", "RequestTimeTooSkewed", "AuthorizationHeaderMalformed":
            return credentials(action: action, location: location, said: said)
        default:
            break
        }
        if status == 403 { return credentials(action: action, location: location, said: said) }
        if [500, 502, 503, 504].contains(status) {
            return BackendFailure(.storage, transient: true, "object storage at \(location.endpoint) failed to \(action) (\(said))")
        }
        return nil
    }

    private func credentials(action: String, location: S3Location, said: String) -> BackendFailure {
        BackendFailure(.storage, transient: false, "object storage at \(location.endpoint) refused the server's credentials while it tried to \(action) (\(said)); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN")
    }
}
