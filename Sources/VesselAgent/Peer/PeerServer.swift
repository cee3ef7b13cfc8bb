import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import VesselClient
import VesselCore
import VesselSigning

/// A node serving the verified blobs of its cache to other nodes (docs/peers.md), as
/// `vessel cache serve` and `vessel agent --share`:
///
/// - `GET /blobs/sha256:<hex>` with `Authorization: Ticket <ticket>` (signed by the registry for
///   that blob, checked with the registry's ticket keys): the cached file, honouring one
///   `Range`; 401 `ticket_invalid` without a valid ticket, 404 when the blob is not a verified
///   cache entry (partial files are never served). `GET /healthz`.
/// - Announces the verified entries to the registry (`PUT /api/v1/peers/:peer`) every ttl/3,
///   and as soon as the set changes (checked every `rescan`); withdraws the announcement on a
///   clean stop. After each accepted announcement it writes `.peer.json` (`PeerMarker`) in the
///   cache folder, so pulls on that cache ask for origin leases as this peer; removed on a clean stop.
public final class PeerServer: Sendable {
    public struct Configuration: Sendable {
        public var id: String
        /// Where other nodes reach this one; nil: `http://<listen host or host name>:<port>`.
        public var advertise: String?
        public var ttlSeconds: Int
        /// How often the cache is looked at for new entries to announce.
        public var rescan: Duration

        public init(id: String, advertise: String?, ttlSeconds: Int = PeerProtocol.defaultTTLSeconds, rescan: Duration = .seconds(1)) {
            self.id = id
            self.advertise = advertise
            self.ttlSeconds = ttlSeconds
            self.rescan = rescan
        }
    }

    private struct State {
        /// The last fetch of the registry's ticket keys (its answer once done).
        var keysTask: Task<[TicketKey], Never>?
        var keysFetched: ContinuousClock.Instant?
        var port: Int?
        var announced: [Digest]?
        var announcedAt: ContinuousClock.Instant?
    }

    public let configuration: Configuration
    let cache: BlobCache
    let api: APIClient
    let logger: Logger
    private let state = Mutex(State())

    public init(_ configuration: Configuration, cache: BlobCache, api: APIClient, logger: Logger) throws(VesselError) {
        try PeerID.validate(configuration.id)
        if let advertise = configuration.advertise { try PeerAnnouncement.validate(url: advertise) }
        self.configuration = configuration
        self.cache = cache
        self.api = api
        self.logger = logger
    }

    // MARK: Serving

    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/blobs/:digest") { request, context in
            try await self.serve(request, context: context)
        }
        return router
    }

    func serve(_ request: Request, context: BasicRequestContext) async throws -> Response {
        guard let digest = try? Digest(context.parameters.get("digest") ?? "") else {
            return Self.error(.badRequest, code: "invalid_argument", "not a blob digest")
        }
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Ticket ") else {
            return Self.error(.unauthorized, code: "ticket_invalid", "a ticket from the registry is required (Authorization: Ticket …)")
        }
        if let refused = await check(ticket: String(header.dropFirst(7)), digest: digest) {
            return Self.error(.unauthorized, code: "ticket_invalid", refused)
        }
        guard let entry = cache.verifiedEntry(digest) else {
            return Self.error(.notFound, code: "not_found", "this peer does not hold \(digest)")
        }
        var headers: HTTPFields = [.contentType: "application/octet-stream", .acceptRanges: "bytes"]
        var status = HTTPResponse.Status.ok
        var range = 0..<entry.size
        if let text = request.headers[.range] {
            guard let asked = Self.parseRange(text, size: entry.size) else {
                headers[.contentRange] = "bytes */\(entry.size)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            }
            range = asked
            status = .partialContent
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(entry.size)"
        }
        headers[.contentLength] = String(range.count)
        if range.isEmpty { return Response(status: status, headers: headers, body: ResponseBody()) }
        let body = try await FileIO().loadFile(path: entry.path, range: Int(range.lowerBound)...Int(range.upperBound - 1), context: context, chunkLength: 1 << 20)
        return Response(status: status, headers: headers, body: body)
    }

    /// Why `ticket` does not allow `digest`, or nil when it does. An unknown key id fetches the
    /// registry's keys again, at most once a minute; requests arriving meanwhile wait for that
    /// one fetch (the first requests of a new peer come together).
    func check(ticket: String, digest: Digest) async -> String? {
        let known = state.withLock { $0.keysTask }
        let keys = await known?.value ?? []
        do {
            _ = try PeerTickets.verify(ticket, keys: keys, digest: digest)
            return nil
        } catch .unknownKey {
            let api = api, logger = logger
            let fetch = state.withLock { state in
                if let task = state.keysTask, let at = state.keysFetched, at.duration(to: .now) < .seconds(PeerProtocol.keyRefetchSeconds) {
                    return task
                }
                let task = Task { () -> [TicketKey] in
                    do { return try await api.ticketKeys().keys } catch {
                        logger.warning("cannot fetch the registry's ticket keys: \(error)")
                        return keys
                    }
                }
                state.keysTask = task
                state.keysFetched = .now
                return task
            }
            do {
                _ = try PeerTickets.verify(ticket, keys: await fetch.value, digest: digest)
                return nil
            } catch {
                return error.description
            }
        } catch {
            return error.description
        }
    }

    static func error(_ status: HTTPResponse.Status, code: String, _ message: String) -> Response {
        struct Body: Encodable {
            struct Detail: Encodable { var code: String; var message: String }
            var error: Detail
        }
        let data = (try? JSONEncoder().encode(Body(error: .init(code: code, message: message)))) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// One `bytes=a-b`, `bytes=a-` or `bytes=-n`; nil when it cannot be served.
    static func parseRange(_ header: String, size: UInt64) -> Range<UInt64>? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst(6)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let suffix = UInt64(last), suffix > 0, size > 0 else { return nil }
            return (size - min(suffix, size))..<size
        }
        guard let start = UInt64(first), start < size else { return nil }
        if last.isEmpty { return start..<size }
        guard let end = UInt64(last), end >= start else { return nil }
        return start..<(min(end, size - 1) + 1)
    }

    // MARK: Announcing

    /// The URL other nodes use, once the port is known.
    func advertisedURL(host: String) -> String? {
        if let advertise = configuration.advertise { return advertise }
        guard let port = state.withLock({ $0.port }) else { return nil }
        let name = (host == "0.0.0.0" || host == "::" || host.isEmpty) ? ProcessInfo.processInfo.hostName : host
        return "http://\(name.contains(":") ? "[\(name)]" : name):\(port)"
    }

    /// Announces now if the set of verified entries changed or a third of the ttl passed.
    func announceIfDue(host: String) async {
        guard let url = advertisedURL(host: host) else { return }
        let blobs = cache.verifiedDigests()
        let due = state.withLock { state in
            state.announced != blobs || (state.announcedAt.map { $0.duration(to: .now) >= .seconds(max(1, configuration.ttlSeconds / 3)) } ?? true)
        }
        guard due else { return }
        do {
            _ = try await api.announcePeer(configuration.id, PeerAnnouncement(url: url, blobs: blobs, ttlSeconds: configuration.ttlSeconds))
            state.withLock {
                $0.announced = blobs
                $0.announcedAt = .now
            }
            // Pulls on this cache ask for origin leases as this peer (decision 0037).
            do {
                try PeerMarker(peerID: configuration.id, expiresAt: Int(Date().timeIntervalSince1970) + configuration.ttlSeconds).write(cacheRoot: cache.root)
            } catch {
                logger.warning("cannot write \(PeerMarker.path(in: cache.root)): \(error)")
            }
            logger.debug("announced \(blobs.count) blobs as peer \(configuration.id) at \(url)")
        } catch {
            logger.warning("cannot announce peer \(configuration.id): \(error)")
        }
    }

    /// Announces until cancelled, then withdraws the announcement.
    public func announceLoop(host: String) async {
        while !Task.isCancelled {
            await announceIfDue(host: host)
            try? await Task.sleep(for: configuration.rescan)
        }
        PeerMarker.remove(cacheRoot: cache.root)
        // Outside the cancelled task: the request must still go out.
        let id = configuration.id, api = api, logger = logger
        await Task {
            do { try await api.withdrawPeer(id) } catch { logger.warning("cannot withdraw peer \(id): \(error)") }
        }.value
    }

    /// The HTTP server and the announcing loop, as services of a `ServiceGroup`.
    public func services(host: String, port: Int, onListening: @escaping @Sendable (Int) -> Void = { _ in }) -> [any Service] {
        [
            Application(
                router: makeRouter(),
                configuration: .init(address: .hostname(host, port: port), serverName: nil),
                onServerRunning: { channel in
                    let bound = channel.localAddress?.port ?? port
                    self.state.withLock { $0.port = bound }
                    onListening(bound)
                },
                logger: logger
            ),
            NodeAgent.Loop { await self.announceLoop(host: host) },
        ]
    }

    /// Serves and announces until SIGTERM or SIGINT.
    public func run(host: String, port: Int, onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let group = ServiceGroup(services: services(host: host, port: port, onListening: onListening), gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
