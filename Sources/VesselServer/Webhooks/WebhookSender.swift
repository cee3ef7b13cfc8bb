import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// Posts one signed delivery: destination checked first, connect and whole-attempt timeouts,
/// redirects never followed (a 3xx is a failed attempt), at most `maxResponseBytes` read.
///
/// The connection goes to an address that was checked: a host name gets its own client whose
/// DNS is overridden with the checked address (TLS still verifies the name), so a DNS answer
/// that changes between the check and the connect (rebinding) cannot redirect a delivery.
final class WebhookSender: Sendable {
    /// For URLs whose host is an IP address: nothing to resolve again.
    let http: HTTPClient
    let policy: DestinationPolicy
    let options: WebhookOptions
    /// Host name → the checked address its client connects to.
    private let pinned = Mutex<[String: (address: String, client: HTTPClient)]>([:])
    private let eventLoopGroup: any EventLoopGroup

    init(policy: DestinationPolicy, options: WebhookOptions, eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup) {
        self.policy = policy
        self.options = options
        self.eventLoopGroup = eventLoopGroup
        http = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: Self.configuration(options, dnsOverride: [:]))
    }

    static func configuration(_ options: WebhookOptions, dnsOverride: [String: String]) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.timeout = .init(connect: amount(options.connectTimeout), read: amount(options.responseTimeout))
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        configuration.dnsOverride = dnsOverride
        // The system trust store, plus `--ca-cert` for private endpoints (docs/tls.md).
        if let path = options.caCertPath, let roots = try? NIOSSLCertificate.fromPEMFile(path), !roots.isEmpty {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.additionalTrustRoots = [.certificates(roots)]
            configuration.tlsConfiguration = tls
        }
        // No tracer: Vessel bootstraps none, and with the default (a no-op tracer) the client
        // still built a span's attributes for every request, 9% of the delivery thread.
        configuration.tracing.tracer = nil
        return configuration
    }

    func shutdown() async {
        try? await http.shutdown()
        for entry in pinned.withLock({ Array($0.values) }) { try? await entry.client.shutdown() }
    }

    /// The client that connects to `destination`'s checked address. When the host now
    /// resolves elsewhere, a new client replaces the old one, which is shut down once its
    /// requests can no longer be running.
    func client(for destination: DestinationPolicy.Destination) -> HTTPClient {
        guard IPAddress.parse(destination.host) == nil, let address = destination.addresses.map(IPAddress.text).min() else { return http }
        let (client, retired) = pinned.withLock { clients -> (HTTPClient, HTTPClient?) in
            if let entry = clients[destination.host], entry.address == address { return (entry.client, nil) }
            let client = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: Self.configuration(options, dnsOverride: [destination.host: address]))
            let old = clients.updateValue((address, client), forKey: destination.host)
            return (client, old?.client)
        }
        if let retired {
            let grace = options.responseTimeout + .seconds(1)
            Task {
                try? await Task.sleep(for: grace)
                try? await retired.shutdown()
            }
        }
        return client
    }

    /// Sends `body` to `url`, signed with `signature`'s secret at `timestamp` (unix seconds); returns the
    /// HTTP status. - Throws: a refused destination, a timeout, a connection failure.
    func send(url: String, body: [UInt8], eventID: String, signature: WebhookSignature, timestamp: Int64) async throws -> Int {
        let destination = try await policy.check(url)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Vessel-Webhooks/1")
        request.headers.add(name: "Vessel-Event-Id", value: eventID)
        request.headers.add(name: "Vessel-Signature", value: signature.header(timestamp: timestamp, body: body))
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client(for: destination).execute(request, deadline: .now() + Self.amount(options.responseTimeout))
        var received = 0
        for try await chunk in response.body {
            received += chunk.readableBytes
            if received >= options.maxResponseBytes { break }
        }
        return Int(response.status.code)
    }

    static func amount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
