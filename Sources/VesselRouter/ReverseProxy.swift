import AsyncHTTPClient
import Hummingbird
import NIOCore
import NIOHTTP1
import VesselCore

/// The HTTP half of `vessel route`: each request goes to one pool's upstream — the pool named
/// by a `Vessel-Slot: blue|green` header (pinned, for smoke tests), else one drawn by the
/// routing document's weights — with its body streamed up and the upstream's answer streamed
/// back. Every request that reached a pool is counted for it (`PoolStats`): its latency until
/// the upstream's response head, and an error for a 5xx answer or an upstream that failed
/// (answered 502 here). The answer carries `Vessel-Slot` (the pool that served it) and
/// `Vessel-Revision` (the document's revision it was routed by).
struct ReverseProxy: HTTPResponder {
    typealias Context = BasicRequestContext
    /// `HTTPTypes.HTTPField`, through the `HTTPFields` Hummingbird exports.
    typealias Field = HTTPFields.Element

    let table: RoutingTable
    let stats: PoolStats
    /// Each pool's upstream, without a trailing slash (`http://10.0.0.5:8000`).
    let upstreams: [DeploymentSlot: String]
    let http: HTTPClient

    static let slotHeader = Field.Name("Vessel-Slot")!
    static let revisionHeader = Field.Name("Vessel-Revision")!
    /// Hop-by-hop fields (RFC 9110 7.6.1) and those the client library sets itself.
    static let notForwarded: Set<String> = ["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                                            "transfer-encoding", "upgrade", "host", "content-length", "vessel-slot"]

    func respond(to request: Request, context: Context) async throws -> Response {
        guard let plan = table.current else {
            return Self.failure(.serviceUnavailable, "unavailable", "the router has not read the routing document yet", retryAfter: true)
        }
        var pinned: DeploymentSlot?
        if let text = request.headers[Self.slotHeader] {
            guard let slot = DeploymentSlot(rawValue: text) else {
                return Self.failure(.badRequest, "invalid_argument", "Vessel-Slot must be blue or green")
            }
            pinned = slot
        }
        guard let route = plan.route(pinned: pinned, roll: Int.random(in: 0..<100)), let upstream = upstreams[route.slot] else {
            return Self.failure(.serviceUnavailable, "unavailable", pinned.map { "pool \($0.rawValue) holds no version" } ?? "no pool holds a version", retryAfter: true)
        }

        var outbound = HTTPClientRequest(url: upstream + request.uri.description)
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        var connectionTokens: Set<String> = []
        if let connection = request.headers[.connection] {
            for token in connection.split(separator: ",") { connectionTokens.insert(token.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        for field in request.headers {
            let name = field.name.canonicalName
            if Self.notForwarded.contains(name) || connectionTokens.contains(name) { continue }
            outbound.headers.add(name: field.name.rawName, value: field.value)
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }) {
            if length > 0 { outbound.body = .stream(request.body, length: .known(Int64(length))) }
        } else if request.headers[.transferEncoding] != nil {
            outbound.body = .stream(request.body, length: .unknown)
        }

        let started = ContinuousClock.now
        let answer: HTTPClientResponse
        do {
            answer = try await http.execute(outbound, timeout: .hours(24))
        } catch {
            stats.record(slot: route.slot, digest: route.digest, micros: Self.micros(started.duration(to: .now)), error: true)
            return Self.failure(.badGateway, "unavailable", "pool \(route.slot.rawValue)'s upstream failed: \(error)", slot: route.slot, revision: plan.revision)
        }
        stats.record(slot: route.slot, digest: route.digest, micros: Self.micros(started.duration(to: .now)), error: answer.status.code >= 500)

        var headers = HTTPFields()
        headers.reserveCapacity(answer.headers.count + 2)
        for (name, value) in answer.headers {
            guard !Self.hopByHop.contains(name.lowercased()), let fieldName = Field.Name(name) else { continue }
            headers.append(Field(name: fieldName, value: value))
        }
        headers[Self.slotHeader] = route.slot.rawValue
        headers[Self.revisionHeader] = String(plan.revision)
        let body = answer.body
        return Response(
            status: HTTPResponse.Status(code: Int(answer.status.code), reasonPhrase: answer.status.reasonPhrase),
            headers: headers,
            body: ResponseBody { writer in
                for try await chunk in body { try await writer.write(chunk) }
                try await writer.finish(nil)
            }
        )
    }

    /// Fields of an upstream's answer that are not passed on (`content-length` is).
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]

    static func micros(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1_000_000 + Double(duration.components.attoseconds) / 1_000_000_000_000
    }

    /// A Vessel error object (`{"error": {"code","message"}}`) with `status`.
    static func failure(_ status: HTTPResponse.Status, _ code: String, _ message: String, retryAfter: Bool = false,
                        slot: DeploymentSlot? = nil, revision: Int? = nil) -> Response {
        var text = Array("{\"error\": {\"code\": ".utf8)
        JSONText.appendQuoted(code, to: &text)
        text += Array(", \"message\": ".utf8)
        JSONText.appendQuoted(message, to: &text)
        text += Array("}}\n".utf8)
        var headers: HTTPFields = [.contentType: "application/json"]
        if retryAfter { headers[.retryAfter] = "1" }
        if let slot { headers[slotHeader] = slot.rawValue }
        if let revision { headers[revisionHeader] = String(revision) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
    }
}
