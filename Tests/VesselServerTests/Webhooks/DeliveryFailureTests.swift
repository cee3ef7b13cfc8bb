#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AsyncHTTPClient
import NIOCore
import Testing
import VesselMetadata
@testable import VesselServer

/// How a failed attempt is worded, and when it is tried again.
@Suite struct DeliveryFailureTests {
    @Test func errorsAreToldApartByType() {
        #expect(DeliveryFailure.describe(HTTPClientError.deadlineExceeded) == "the receiver did not answer in time")
        #expect(DeliveryFailure.describe(HTTPClientError.readTimeout) == "the receiver did not answer in time")
        #expect(DeliveryFailure.describe(HTTPClientError.connectTimeout) == "connecting to the receiver timed out")
        #expect(DeliveryFailure.describe(ChannelError.connectTimeout(.seconds(1))) == "connecting to the receiver timed out")
        #expect(DeliveryFailure.describe(IOError(errnoCode: ECONNREFUSED, reason: "connect")) == "the receiver refused the connection")
        #expect(DeliveryFailure.describe(IOError(errnoCode: ECONNRESET, reason: "read")).hasPrefix("delivery failed: "))
        #expect(DeliveryFailure.describe(HTTPClientError.remoteConnectionClosed) == "delivery failed: HTTPClientError.remoteConnectionClosed")
    }

    /// A closed port, through the real client: AsyncHTTPClient gives up with NIO's connection
    /// error, which holds the refusal.
    @Test func aClosedPortIsARefusal() async throws {
        var options = WebhookOptions()
        options.connectTimeout = .milliseconds(500)
        options.responseTimeout = .milliseconds(400)
        let sender = WebhookSender(policy: DestinationPolicy(allowed: [try CIDR("127.0.0.0/8")]), options: options)
        let error = await #expect(throws: (any Error).self) {
            _ = try await sender.send(url: "http://127.0.0.1:9/", body: [], eventID: "evt_1", signature: WebhookSignature(secret: "0123456789abcdef"), timestamp: 0)
        }
        await sender.shutdown()
        #expect(error.map(DeliveryFailure.describe) == "the receiver refused the connection", "\(String(describing: error))")
    }

    @Test func backoffDoublesUpToItsCapAndStopsAtTheWindow() {
        var options = WebhookOptions()
        options.initialBackoff = .seconds(1)
        options.maxBackoff = .seconds(5)
        options.retryWindow = .seconds(60)
        let policy = RetryPolicy(options: options, jitter: { 1 })
        #expect((1...5).map { policy.backoff(afterAttempt: $0) } == [1_000_000, 2_000_000, 4_000_000, 5_000_000, 5_000_000])
        #expect(RetryPolicy(options: options, jitter: { 0.5 }).backoff(afterAttempt: 2) == 1_000_000)
        let first = policy.afterFailure(at: 10_000_000, firstAttemptAt: nil, attempts: 0)
        #expect(first.status == .failed && first.nextAttemptAt == 11_000_000)
        let late = policy.afterFailure(at: 68_000_000, firstAttemptAt: 10_000_000, attempts: 3)
        #expect(late.status == .failed && late.nextAttemptAt == 70_000_000, "never due after the window ends")
        let over = policy.afterFailure(at: 70_000_000, firstAttemptAt: 10_000_000, attempts: 4)
        #expect(over.status == .dead && over.nextAttemptAt == 70_000_000)
    }
}
