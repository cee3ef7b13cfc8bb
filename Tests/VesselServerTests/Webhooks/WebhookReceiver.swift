import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import VesselCore

/// An HTTP receiver on 127.0.0.1 (a random port) that records every delivery and answers as
/// told: a status code, or hanging for a while first.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        let eventID: String?
        let signature: String?
        let body: [UInt8]
        let status: Int
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    }

    enum Answer: Sendable {
        case status(Int)
        /// Sleep this long, then answer 200.
        case hang(Duration)
    }

    private let answers = Mutex<[Answer]>([])
    private let fallback = Mutex<Answer>(.status(200))
    private let log = Mutex<[Delivery]>([])
    let port: Int

    private init(port: Int) { self.port = port }

    var url: String { "http://127.0.0.1:\(port)/hook" }
    var deliveries: [Delivery] { log.withLock { $0 } }
    /// The deliveries answered 2xx, in arrival order.
    var accepted: [Delivery] { deliveries.filter { (200..<300).contains($0.status) } }

    /// Answer these first, one per request, then `then` for every later request.
    func answer(_ first: [Answer], then: Answer = .status(200)) {
        answers.withLock { $0 = first }
        fallback.withLock { $0 = then }
    }

    /// Waits (at most `timeout`) until `condition` holds for the accepted deliveries.
    func wait(for timeout: Duration = .seconds(15), until condition: ([Delivery]) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition(accepted) {
            guard ContinuousClock.now < deadline else {
                throw VesselError.internalError("the receiver's condition did not hold in time; got \(deliveries.count) requests")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func with(_ body: @Sendable (WebhookReceiver) async throws -> Void) async throws {
        final class Box: Sendable { let receiver = Mutex<WebhookReceiver?>(nil) }
        let box = Box()
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            guard let receiver = box.receiver.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            return try await receiver.handle(request)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Logger(label: "receiver"))
        try await app.test(.live) { client in
            guard let port = client.port else { throw VesselError.internalError("the receiver has no port") }
            let receiver = WebhookReceiver(port: port)
            box.receiver.withLock { $0 = receiver }
            try await body(receiver)
        }
    }

    static func header(_ request: Request, _ name: String) -> String? {
        request.headers.first { $0.name.canonicalName == name }?.value
    }

    private func handle(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        let answer = answers.withLock { $0.isEmpty ? nil : $0.removeFirst() } ?? fallback.withLock { $0 }
        var status = 200
        switch answer {
        case .status(let code): status = code
        case .hang(let duration):
            try await Task.sleep(for: duration)
            status = 0  // the sender gave up long ago: not a delivery it saw
        }
        log.withLock {
            $0.append(Delivery(eventID: Self.header(request, "vessel-event-id"), signature: Self.header(request, "vessel-signature"),
                               body: Array(buffer: body), status: status))
        }
        return Response(status: .init(code: status))
    }
}
