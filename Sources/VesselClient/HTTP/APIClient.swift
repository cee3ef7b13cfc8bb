import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import VesselCore

/// Typed calls to the Vessel API. Server errors come back as the `VesselError` the server
/// sent; transport failures as `unavailable`.
///
/// With a retry budget (`--retry-for`), every request waits out an outage: a connection that
/// fails before an answer, or `unavailable` with `Retry-After`, is tried again with backoff
/// (`RetryPolicy`, `TransientFailure`). Only commands whose requests are safe to repeat get
/// a budget.
public final class APIClient: Sendable {
    public let config: ClientConfig
    let http: HTTPClient
    /// How requests wait out an outage; nil: a failure is final at once.
    let retry: RetryPolicy?

    public convenience init(config: ClientConfig) {
        self.init(config: config, retry: nil)
    }

    /// A client whose requests wait out an outage for up to `retryFor` each (`.zero`: not at
    /// all), telling `onRetry` about every pause before taking it.
    public convenience init(config: ClientConfig, retryFor: Duration, onRetry: @escaping @Sendable (RetryNotice) -> Void = { _ in }) {
        self.init(config: config, retry: retryFor > .zero ? .outage(budget: retryFor, notify: onRetry) : nil)
    }

    init(config: ClientConfig, retry: RetryPolicy?) {
        self.config = config
        self.retry = retry
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(300))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        // A refused connection fails its requests now, instead of the pool retrying it quietly
        // until the connect timeout: `RetryPolicy` decides whether and when to try again.
        configuration.connectionPool.retryConnectionEstablishment = false
        // https://: the system trust store plus --ca-cert, a client certificate when given
        // (docs/tls.md). HTTP/1.1 only, as over plain HTTP: transfers open several connections
        // rather than multiplexing one (decision 0017).
        configuration.tlsConfiguration = config.tls.configuration()
        configuration.httpVersion = .http1Only
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    func url(_ path: String) -> String { config.server + path }

    func request(_ method: HTTPMethod, _ path: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url(path))
        request.method = method
        if let token = config.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "User-Agent", value: "vessel-cli")
        return request
    }

    /// Sends a request and returns the response, mapping error statuses to `VesselError`.
    /// With a retry budget, waits out an outage first (see the type); inside a transfer's own
    /// outage loop, leaves that to the loop.
    func send(_ request: HTTPClientRequest, timeout: TimeAmount = .minutes(30), accept: Set<UInt> = []) async throws -> HTTPClientResponse {
        if RetryPolicy.insideOutageLoop {
            return try await sendOnce(request, timeout: timeout, accept: accept)
        }
        if let retry {
            return try await retry.run { try await sendOnce(request, timeout: timeout, accept: accept) }
        }
        do {
            return try await sendOnce(request, timeout: timeout, accept: accept)
        } catch {
            throw TransientFailure.surfaced(error)
        }
    }

    /// One attempt; a failure another attempt may fix is thrown as a `TransientFailure`.
    private func sendOnce(_ request: HTTPClientRequest, timeout: TimeAmount, accept: Set<UInt>) async throws -> HTTPClientResponse {
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch let error as VesselError {
            throw error
        } catch {
            // A refused certificate is final: waiting does not fix it, and nothing falls back.
            if TLSFailure.isTLSFailure(error) {
                throw await TLSFailure.explain(error, server: config.server, tls: config.tls)
            }
            let failure = VesselError(.unavailable, "cannot reach the Vessel server at \(config.server): \(Self.describe(error))")
            if let reason = TransientFailure.connectionFailure(error) {
                throw TransientFailure(error: failure, reason: "cannot reach \(config.server): \(reason)", retryAfter: nil)
            }
            throw failure
        }
        let status = response.status.code
        if status >= 400 && !accept.contains(status) {
            let body = try? await response.body.collect(upTo: 1 << 20)
            let decoded = body.flatMap { try? JSONDecoder().decode(ErrorBody.self, from: Data(buffer: $0)) }?.vesselError
            let thrown = decoded ?? VesselError(status >= 500 ? .unavailable : .invalidArgument, "the server answered \(status) \(response.status.reasonPhrase)")
            if let transient = TransientFailure.answer(status: status, reasonPhrase: response.status.reasonPhrase, retryAfter: response.headers.first(name: "Retry-After"), vesselError: decoded, thrown: thrown) {
                throw transient
            }
            throw thrown
        }
        return response
    }

    /// Follows a download redirect to object storage (`vessel serve --storage-redirect`): a
    /// plain `GET` of the presigned URL, *without* the Vessel token (it must not leak to another
    /// host), with the same `Range`. The caller still hashes every byte.
    func followStorageRedirect(_ response: HTTPClientResponse, range: String?) async throws -> HTTPClientResponse {
        guard let location = response.headers.first(name: "location"),
              location.hasPrefix("http://") || location.hasPrefix("https://")
        else {
            throw VesselError(.unavailable, "the server answered \(response.status.code) without a usable Location")
        }
        var request = HTTPClientRequest(url: location)
        request.headers.add(name: "User-Agent", value: "vessel-cli")
        if let range { request.headers.add(name: "Range", value: range) }
        let redirected: HTTPClientResponse
        do {
            redirected = try await http.execute(request, timeout: .hours(6))
        } catch {
            throw VesselError(.unavailable, "cannot reach the object storage the server redirected to: \(Self.describe(error))")
        }
        guard redirected.status.code == 200 || redirected.status.code == 206 else {
            _ = try? await redirected.body.collect(upTo: 1 << 20)
            throw VesselError(.unavailable, "object storage refused the download the server redirected to (HTTP \(redirected.status.code)); the link may have expired, retry")
        }
        return redirected
    }

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("connectTimeout") { return "connection timed out" }
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused (is `vessel serve` running?)" }
        return text
    }

    /// JSON in, JSON out.
    func call<Response: Decodable>(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<Empty>.none, as type: Response.Type) async throws -> Response {
        var request = request(method, path)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
        }
        let response = try await send(request)
        let data = try await response.body.collect(upTo: 256 << 20)
        return try decode(Response.self, data, path: "\(method) \(path)")
    }

    func decode<T: Decodable>(_ type: T.Type, _ data: ByteBuffer, path: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: data))
        } catch {
            throw VesselError(.internalError, "the server's answer to \(path) could not be read: \(error)")
        }
    }

    /// A call whose answer has no body worth reading.
    /// Every item of a list, following `next_cursor` page by page (1,000 items a request).
    func all<Item: Codable & Sendable>(_ path: String, as type: Item.Type) async throws -> [Item] {
        var items: [Item] = []
        var cursor: String?
        let separator = path.contains("?") ? "&" : "?"
        repeat {
            let page = try await call(.GET, path + separator + "limit=1000" + (cursor.map { "&cursor=\($0.percentEscaped)" } ?? ""), as: Page<Item>.self)
            items += page.items
            cursor = page.nextCursor
        } while cursor != nil
        return items
    }

    func callNoContent(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<Empty>.none) async throws {
        var request = request(method, path)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
        }
        _ = try await send(request).body.collect(upTo: 1 << 20)
    }

    public struct Empty: Codable, Sendable {}
}

/// Path segments of a model.
extension ModelName {
    var apiPath: String { "/api/v1/models/\(owner)/\(name)" }
}
