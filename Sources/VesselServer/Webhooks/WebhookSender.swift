import AsyncHTTPClient
import Foundation
import NIOCore

/// Posts one signed delivery: destination checked first, connect and whole-attempt timeouts,
/// redirects never followed (a 3xx is a failed attempt), at most `maxResponseBytes` read.
final class WebhookSender: Sendable {
    let http: HTTPClient
    let policy: DestinationPolicy
    let options: WebhookOptions

    init(policy: DestinationPolicy, options: WebhookOptions) {
        self.policy = policy
        self.options = options
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.timeout = .init(connect: Self.amount(options.connectTimeout), read: Self.amount(options.responseTimeout))
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async {
        try? await http.shutdown()
    }

    /// Sends `body` to `url`, signed with `secret` at `timestamp` (unix seconds); returns the
    /// HTTP status. - Throws: a refused destination, a timeout, a connection failure.
    func send(url: String, body: [UInt8], eventID: String, secret: String, timestamp: Int64) async throws -> Int {
        _ = try await policy.check(url)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Vessel-Webhooks/1")
        request.headers.add(name: "Vessel-Event-Id", value: eventID)
        request.headers.add(name: "Vessel-Signature", value: WebhookSignature.header(secret: secret, timestamp: timestamp, body: body))
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, deadline: .now() + Self.amount(options.responseTimeout))
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
