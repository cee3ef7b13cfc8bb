import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import VesselCore

/// Typed calls to the Vessel API. Server errors come back as the `VesselError` the server
/// sent; transport failures as `unavailable`.
public final class APIClient: Sendable {
    public let config: ClientConfig
    let http: HTTPClient

    public init(config: ClientConfig) {
        self.config = config
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(300))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
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
    func send(_ request: HTTPClientRequest, timeout: TimeAmount = .minutes(30), accept: Set<UInt> = []) async throws -> HTTPClientResponse {
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch let error as VesselError {
            throw error
        } catch {
            throw VesselError(.unavailable, "cannot reach the Vessel server at \(config.server): \(Self.describe(error))")
        }
        if response.status.code >= 400 && !accept.contains(response.status.code) {
            let body = try? await response.body.collect(upTo: 1 << 20)
            if let body, let decoded = try? JSONDecoder().decode(ErrorBody.self, from: Data(buffer: body)) {
                throw decoded.vesselError
            }
            throw VesselError(response.status.code >= 500 ? .unavailable : .invalidArgument, "the server answered \(response.status.code) \(response.status.reasonPhrase)")
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
