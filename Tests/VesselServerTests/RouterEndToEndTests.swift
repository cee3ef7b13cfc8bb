import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import VesselCore
import VesselTestSupport
@testable import VesselClient

/// `vessel route` end to end (issue 23): the built binary between a client and two small
/// upstreams standing in for the blue and green pools, following a real `vessel serve`.
/// - A failing canary rolls itself back: green answers 500 (or slowly), the router reports it,
///   the registry rolls back by `--max-error-rate` (or `--max-p99-ms`), and every later request
///   reaches blue.
/// - `Vessel-Slot` pins a request to a pool whatever its weight; bodies stream both ways (the
///   upstream sees a request's first chunk before the client has sent the rest; the client
///   reads the answer's first chunk before the upstream has written the rest); an upstream
///   that cannot be reached is answered 502.
/// Every wait is for a state (an answer, a status), bounded only by the suite's time limit.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct RouterEndToEndTests {
    /// Releases the streamed answer's second half, and tells when an upload's first chunk arrived.
    final class Gates: Sendable {
        let release = AsyncStream<Void>.makeStream()
        let firstChunk = AsyncStream<Void>.makeStream()
    }

    /// An upstream naming its pool on `/who`, answering `status` there; `/echo` returns the
    /// body; `/stream` writes one line, waits for `gates.release`, writes another; `/upload`
    /// signals `gates.firstChunk` when the first chunk of the body arrives and answers the size.
    static func upstream(_ name: String, status: HTTPResponse.Status = .ok, delay: Duration? = nil, gates: Gates = Gates()) -> Application<RouterResponder<BasicRequestContext>> {
        let router = Router()
        router.get("/who") { _, _ in
            if let delay { try await Task.sleep(for: delay) }
            return Response(status: status, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: name)))
        }
        router.post("/echo") { request, _ in
            Response(status: .ok, body: ResponseBody(asyncSequence: request.body))
        }
        router.get("/stream") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "first\n"))
                var released = gates.release.stream.makeAsyncIterator()
                _ = await released.next()
                try await writer.write(ByteBuffer(string: "second\n"))
                try await writer.finish(nil)
            })
        }
        router.post("/upload") { request, _ -> String in
            var size = 0
            for try await chunk in request.body {
                if size == 0 { gates.firstChunk.continuation.yield() }
                size += chunk.readableBytes
            }
            return String(size)
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    /// Two upstreams, served for the length of `body`, which gets their URLs.
    static func withUpstreams(_ blue: Application<RouterResponder<BasicRequestContext>>, _ green: Application<RouterResponder<BasicRequestContext>>,
                              _ body: @escaping @Sendable (String, String) async throws -> Void) async throws {
        try await blue.test(.live) { blueClient in
            try await green.test(.live) { greenClient in
                try await body("http://127.0.0.1:\(try #require(blueClient.port))", "http://127.0.0.1:\(try #require(greenClient.port))")
            }
        }
    }

    /// `vessel route` for `server`'s `acme/m` in `prod-eu` on a free port, for the length of
    /// `body` (killed afterwards), once it answers; its log is quoted when `body` fails.
    static func withRouter(_ server: ServeProcess, blue: String, green: String, _ body: (String, String) async throws -> Void) async throws {
        let port = CLI.freePort()
        let log = "\(server.dataDir)-route-\(port).log"
        let arguments = ["route", "acme/m", "--env", "prod-eu", "--listen", "127.0.0.1:\(port)", "--upstream", "blue=\(blue)", "--upstream", "green=\(green)",
                         "--report-interval", "200ms"]
        let environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "XDG_CONFIG_HOME": "/nonexistent-vessel-config"].merging(server.env) { _, new in new }
        let url = "http://127.0.0.1:\(port)"
        try await withThrowingTaskGroup(of: Void.self) { group in
            // `exec`: the router is the process a cancelled task kills.
            group.addTask { _ = try await runProcess("/bin/sh", ["-c", "exec \"$0\" \"$@\" >>\"$LOG\" 2>&1", CLI.binary] + arguments, environment: environment.merging(["LOG": log]) { _, new in new }) }
            do {
                try await waitUntilRouting(url, log: log)
                try await body(url, log)
            } catch {
                group.cancelAll()
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                Issue.record("vessel route's log:\n\(text.suffix(3000))")
                throw error
            }
            group.cancelAll()
        }
    }

    /// Until the router answers from an upstream (it has read the routing document).
    static func waitUntilRouting(_ url: String, log: String) async throws {
        for _ in 0..<600 {
            if let answer = try? await get(url + "/who"), answer.slot != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("vessel route did not start routing")
    }

    struct Answer {
        var status: UInt
        var body: String
        var slot: String?
        var revision: Int?
    }

    static func get(_ url: String, slot: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        if let slot { request.headers.add(name: "Vessel-Slot", value: slot) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return Answer(status: response.status.code, body: body, slot: response.headers.first(name: "Vessel-Slot"),
                      revision: response.headers.first(name: "Vessel-Revision").flatMap { Int($0) })
    }

    /// Versions 1 and 2 of `acme/m`; 1 deployed (blue, live), then 2 with `arguments` (green).
    static func twoVersions(_ server: ServeProcess, deploying arguments: [String]) async throws {
        try await DeployCLIPush.push(server, note: "one")
        try await DeployCLIPush.push(server, note: "two")
        let first = try await CLI.run(["deploy", "acme/m:1", "--env", "prod-eu"], environment: server.env)
        #expect(first.status == 0, "\(first.stderr)")
        let second = try await CLI.run(["deploy", "acme/m:2", "--env", "prod-eu"] + arguments, environment: server.env)
        #expect(second.status == 0, "\(second.stderr)")
    }

    /// A rollback rule and a green upstream that breaks it.
    enum Rule: String, CaseIterable, Sendable {
        /// Green answers 500.
        case errorRate = "error rate"
        /// Green answers after 400 ms, four times the threshold (a slow machine only adds to it).
        case p99

        var deployArguments: [String] {
            switch self {
            case .errorRate: ["--max-error-rate", "0.2", "--min-requests", "20", "--steps", "50,100"]
            case .p99: ["--max-p99-ms", "100", "--min-requests", "6", "--steps", "50,100"]
            }
        }

        var green: Application<RouterResponder<BasicRequestContext>> {
            switch self {
            case .errorRate: RouterEndToEndTests.upstream("green", status: .internalServerError)
            case .p99: RouterEndToEndTests.upstream("green", delay: .milliseconds(400))
            }
        }
    }

    @Test(.enabled(if: VesselExecutable.path != nil, "needs the vessel executable"), arguments: Rule.allCases)
    func aFailingCanaryRollsItselfBackAndTheRouterSendsEverythingToTheLivePool(_ rule: Rule) async throws {
        let server = try await ServeProcess()
        defer { server.stop() }
        try await Self.twoVersions(server, deploying: rule.deployArguments)
        let advanced = try await CLI.run(["deploy", "advance", "acme/m", "--env", "prod-eu", "--json"], environment: server.env)
        #expect(advanced.status == 0 && (try? advanced.json())?["candidate_weight"] as? Int == 50, "\(advanced.stdout)")
        let api = server.client()
        do {
            try await rollsBack(server, api, rule)
        } catch {
            await api.shutdown()
            throw error
        }
        await api.shutdown()
    }

    func rollsBack(_ server: ServeProcess, _ api: APIClient, _ rule: Rule) async throws {
        let model = try ModelName("acme/m"), env = try AliasName("prod-eu")
        try await Self.withUpstreams(Self.upstream("blue"), rule.green) { blue, green in
            try await Self.withRouter(server, blue: blue, green: green) { url, log in
                // Requests until the registry has rolled the candidate back on the router's reports.
                var answers: [String: Int] = [:]
                var rolledBack: DeploymentInfo?
                for _ in 0..<1000 {
                    for _ in 0..<10 {
                        let answer = try await Self.get(url + "/who")
                        answers["\(answer.slot ?? "none") \(answer.status)", default: 0] += 1
                        #expect(answer.status == (rule == .errorRate && answer.slot == "green" ? 500 : 200), "green's 500s pass through as they are: \(answer)")
                    }
                    let current = try await api.deployment(model, env: env)
                    if current.status == .rolledBack {
                        rolledBack = current
                        break
                    }
                }
                let after = try #require(rolledBack, "the canary was never rolled back; answers: \(answers)")
                #expect(answers.keys.contains { $0.hasPrefix("green") } && answers.keys.contains { $0.hasPrefix("blue") }, "\(answers)")
                let last = try #require(try await api.deploymentHistory(model, env: env).last)
                #expect(last.action == "rolled_back" && last.automatic && last.actor == "system" && last.reason?.contains(rule.rawValue) == true, "\(last)")

                // Once the router holds the rollback's revision, every request reaches blue.
                var caughtUp = false
                for _ in 0..<600 {
                    if let revision = try await Self.get(url + "/who").revision, revision >= after.revision {
                        caughtUp = true
                        break
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(caughtUp, "the router never took revision \(after.revision)")
                for _ in 0..<50 {
                    let answer = try await Self.get(url + "/who")
                    #expect(answer.status == 200 && answer.body == "blue" && answer.slot == "blue", "\(answer)")
                }
                let text = try String(contentsOfFile: log, encoding: .utf8)
                #expect(text.contains("blue v1 100%, green v2 0%"), "the weight change is logged: \(text.suffix(2000))")
            }
        }
    }

    @Test(.enabled(if: VesselExecutable.path != nil, "needs the vessel executable"))
    func pinningStreamingAndAnUnreachableUpstream() async throws {
        let server = try await ServeProcess()
        defer { server.stop() }
        try await Self.twoVersions(server, deploying: [])
        let gates = Gates()
        try await Self.withUpstreams(Self.upstream("blue", gates: gates), Self.upstream("green")) { blue, green in
            try await Self.withRouter(server, blue: blue, green: green) { url, _ in
                // Green holds the candidate at weight 0: unpinned requests all go to blue.
                for _ in 0..<20 {
                    let answer = try await Self.get(url + "/who")
                    #expect(answer.body == "blue" && answer.slot == "blue" && answer.revision == 2, "\(answer)")
                }
                let pinned = try await Self.get(url + "/who", slot: "green")
                #expect(pinned.status == 200 && pinned.body == "green" && pinned.slot == "green", "\(pinned)")
                let bad = try await Self.get(url + "/who", slot: "purple")
                #expect(bad.status == 400 && bad.body.contains("invalid_argument"), "\(bad)")

                // A body of 1 MiB up and back.
                let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
                var echo = HTTPClientRequest(url: url + "/echo")
                echo.method = .POST
                echo.body = .bytes(ByteBuffer(bytes: bytes))
                let echoed = try await HTTPClient.shared.execute(echo, timeout: .seconds(60))
                #expect(Array(buffer: try await echoed.body.collect(upTo: 2 << 20)) == bytes)

                // The answer's first line arrives before the upstream writes the second.
                let streamed = try await HTTPClient.shared.execute(HTTPClientRequest(url: url + "/stream"), timeout: .seconds(120))
                var chunks = streamed.body.makeAsyncIterator()
                var received = ""
                while !received.contains("\n"), let chunk = try await chunks.next() { received += String(buffer: chunk) }
                #expect(received == "first\n")
                gates.release.continuation.yield()
                while let chunk = try await chunks.next() { received += String(buffer: chunk) }
                #expect(received == "first\nsecond\n")

                // The upstream has the upload's first chunk before the client sends the second.
                let (chunksUp, sender) = AsyncStream<ByteBuffer>.makeStream()
                var upload = HTTPClientRequest(url: url + "/upload")
                upload.method = .POST
                upload.body = .stream(chunksUp, length: .unknown)
                async let uploaded = HTTPClient.shared.execute(upload, timeout: .seconds(120))
                sender.yield(ByteBuffer(repeating: 1, count: 1000))
                var arrived = gates.firstChunk.stream.makeAsyncIterator()
                _ = await arrived.next()
                sender.yield(ByteBuffer(repeating: 2, count: 500))
                sender.finish()
                let sized = try await uploaded
                #expect(String(buffer: try await sized.body.collect(upTo: 64)) == "1500")
            }
            // Green cannot be reached: its requests are answered 502, blue's still served.
            let (refusing, port) = CLI.refusingPort()
            defer { close(refusing) }
            try await Self.withRouter(server, blue: blue, green: "http://127.0.0.1:\(port)") { url, _ in
                let failed = try await Self.get(url + "/who", slot: "green")
                #expect(failed.status == 502 && failed.slot == "green" && failed.body.contains("\"unavailable\""), "\(failed)")
                #expect(try await Self.get(url + "/who").body == "blue")
            }
        }
    }
}

extension RouterEndToEndTests {
    /// Bad options exit 2 before anything is started; a missing option is a usage error (64).
    @Test(.enabled(if: VesselExecutable.path != nil, "needs the vessel executable"))
    func badOptionsExitTwo() async throws {
        let both = ["--upstream", "blue=http://127.0.0.1:1", "--upstream", "green=http://127.0.0.1:2"]
        let cases: [[String]] = [
            ["--env", "prod-eu", "--upstream", "blue=http://127.0.0.1:1"],
            ["--env", "prod-eu", "--upstream", "blue=http://127.0.0.1:1", "--upstream", "blue=http://127.0.0.1:2"],
            ["--env", "prod-eu", "--upstream", "purple=http://127.0.0.1:1", "--upstream", "green=http://127.0.0.1:2"],
            ["--env", "prod-eu", "--upstream", "blue=ftp://x", "--upstream", "green=http://127.0.0.1:2"],
            ["--env", "prod-eu", "--listen", "8080"] + both,
            ["--env", "prod-eu", "--report-interval", "soon"] + both,
            ["--env", "Prod EU"] + both,
        ]
        for arguments in cases {
            let result = try await CLI.run(["route", "acme/m"] + arguments, environment: ["VESSEL_SERVER": "http://127.0.0.1:1"])
            #expect(result.status == 2 && result.stderr.contains("error:"), "\(arguments): \(result.status) \(result.stderr)")
        }
        #expect(try await CLI.run(["route", "acme/m"] + both).status == 64, "--env is required")
    }
}

/// Pushing a tiny version of `acme/m` through the CLI, as `DeployCLITests` does.
enum DeployCLIPush {
    static func push(_ server: ServeProcess, note: String) async throws {
        let folder = TempDir.make("vessel-route-model")
        try "{\"note\": \"\(note)\"}".write(toFile: "\(folder)/config.json", atomically: true, encoding: .utf8)
        let push = try await CLI.run(["push", folder, "--model", "acme/m"], environment: server.env)
        #expect(push.status == 0, "\(push.stderr)")
    }
}
