import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import VesselCore

/// A serving endpoint on 127.0.0.1 (a random port) answering `GET /health/version` with what
/// the test tells it, and counting the requests it got.
final class VersionEndpoint: Sendable {
    enum Answer: Sendable {
        /// `{"digest": …, "version": …}` (the fields a model server would give, plus noise).
        case serving(Digest, version: Int?)
        case status(Int)
        /// A body of this many bytes of JSON whitespace around a valid answer.
        case oversized(Int)
        case body(String)
    }

    private let answer = Mutex<Answer>(.status(503))
    private let count = Atomic<Int>(0)
    let port: Int

    private init(port: Int) { self.port = port }

    var url: String { "http://127.0.0.1:\(port)" }
    var requests: Int { count.load(ordering: .relaxed) }

    func answer(_ answer: Answer) { self.answer.withLock { $0 = answer } }

    static func with(_ body: @Sendable (VersionEndpoint) async throws -> Void) async throws {
        final class Box: Sendable { let endpoint = Mutex<VersionEndpoint?>(nil) }
        let box = Box()
        let router = Router()
        router.get("/health/version") { _, _ -> Response in
            guard let endpoint = box.endpoint.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            return endpoint.respond()
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Logger(label: "endpoint"))
        try await app.test(.live) { client in
            guard let port = client.port else { throw VesselError.internalError("the endpoint has no port") }
            let endpoint = VersionEndpoint(port: port)
            box.endpoint.withLock { $0 = endpoint }
            try await body(endpoint)
        }
    }

    private func respond() -> Response {
        count.add(1, ordering: .relaxed)
        let json: String
        switch answer.withLock({ $0 }) {
        case .status(let code): return Response(status: .init(code: code))
        case .serving(let digest, let version):
            json = #"{"model":"acme/m","digest":"\#(digest)","version":\#(version.map(String.init) ?? "null"),"state":"in_sync","extra":[1,2]}"#
        case .oversized(let size):
            json = String(repeating: " ", count: size) + #"{"digest":"sha256:\#(String(repeating: "0", count: 64))"}"#
        case .body(let text): json = text
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }
}
