import AsyncHTTPClient
import Foundation
import NIOCore
import VesselCore
import VesselMetadata

/// The drift job (issue 24, docs/deployments.md "Nodes and drift"): every `--drift-interval`, on
/// the replica holding the `drift` lease, polls every endpoint's `URL/health/version`, then
/// judges every node and endpoint against its slot (`DriftStore.judgeDrift`) and sets the
/// drifted gauge.
struct DriftMonitor: Sendable {
    /// Each poll's connect and whole-answer deadline.
    static let pollTimeout: Duration = .seconds(2)
    /// The most of an answer read; a larger one is `unreachable`.
    static let maxAnswerBytes = 64 << 10
    /// Polls in flight at once.
    static let concurrency = 16

    let store: any DriftStore
    /// Endpoints go where webhooks may (`--webhook-allow`); checked before every poll.
    let policy: DestinationPolicy
    let webhooks: WebhookOptions
    let interval: Duration
    let grace: Duration
    let clock: @Sendable () -> Int64
    let metrics: ServerMetrics?

    var job: BackgroundJob {
        let monitor = self
        return BackgroundJob(name: "drift", interval: interval) { _ in try await monitor.round() }
    }

    /// One round: poll, record, judge. Returns the verdicts that changed.
    func round() async throws -> Int {
        let targets = try await store.endpointTargets()
        if !targets.isEmpty {
            let polls = await poll(targets)
            try await store.recordEndpointPolls(polls, now: clock())
        }
        let policy = DriftPolicy(grace: BackgroundJobs.micros(grace), staleAfter: BackgroundJobs.micros(interval) * 3)
        let round = try await store.judgeDrift(now: clock(), policy: policy)
        metrics?.driftedNodes(round.drifted)
        return round.transitions
    }

    func poll(_ targets: [EndpointTarget]) async -> [(EndpointTarget, EndpointPoll)] {
        await withTaskGroup(of: (EndpointTarget, EndpointPoll).self) { group in
            var results: [(EndpointTarget, EndpointPoll)] = []
            var pending = targets[...]
            for _ in 0..<min(Self.concurrency, pending.count) {
                let target = pending.removeFirst()
                group.addTask { (target, await poll(target.url)) }
            }
            while let result = await group.next() {
                results.append(result)
                if let target = pending.popFirst() { group.addTask { (target, await poll(target.url)) } }
            }
            return results
        }
    }

    /// Reads `url/health/version`: the destination policy first, a client whose DNS is pinned
    /// to the checked address (as webhook sends are), no redirects, `pollTimeout`, at most
    /// `maxAnswerBytes`; only `digest` is required in the JSON.
    func poll(_ url: String) async -> EndpointPoll {
        let target = (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/health/version"
        let destination: DestinationPolicy.Destination
        do {
            destination = try await policy.check(url, subject: "endpoint")
        } catch let error as VesselError {
            return .unreachable(error.message)
        } catch {
            return .unreachable("\(error)")
        }
        var options = webhooks
        options.connectTimeout = Self.pollTimeout
        options.responseTimeout = Self.pollTimeout
        let pinned = IPAddress.parse(destination.host) == nil ? destination.addresses.map(IPAddress.text).min().map { [destination.host: $0] } ?? [:] : [:]
        let client = HTTPClient(eventLoopGroupProvider: .shared(HTTPClient.defaultEventLoopGroup), configuration: WebhookSender.configuration(options, dnsOverride: pinned))
        let outcome = await Self.read(client, target)
        try? await client.shutdown()
        return outcome
    }

    private static func read(_ client: HTTPClient, _ url: String) async -> EndpointPoll {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "Vessel-Drift/1")
        request.headers.add(name: "Accept", value: "application/json")
        do {
            let response = try await client.execute(request, deadline: .now() + WebhookSender.amount(pollTimeout))
            guard response.status == .ok else { return .unreachable("\(url) answered HTTP \(response.status.code)") }
            var body = ByteBuffer()
            for try await chunk in response.body {
                guard body.readableBytes + chunk.readableBytes <= maxAnswerBytes else { return .unreachable("\(url) answered more than \(maxAnswerBytes >> 10) KiB") }
                var chunk = chunk
                body.writeBuffer(&chunk)
            }
            return parse(Data(body.readableBytesView), url: url)
        } catch {
            return .unreachable("\(url) could not be read: \(String(describing: error).prefix(200))")
        }
    }

    /// `{"digest": "sha256:…", "version"?: N, "state"?: "…"}`; anything else beside is ignored.
    static func parse(_ data: Data, url: String) -> EndpointPoll {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return .unreachable("\(url) did not answer a JSON object")
        }
        guard let text = object["digest"] as? String, let digest = try? Digest(text) else {
            return .unreachable("\(url) answered no digest (sha256:<64 hex>)")
        }
        let version = (object["version"] as? NSNumber).flatMap { number -> Int? in
            let value = number.intValue
            return value >= 1 && Double(value) == number.doubleValue ? value : nil
        }
        let state = (object["state"] as? String).flatMap { NodeState(rawValue: $0)?.rawValue }
        return .serving(digest: digest, version: version, state: state)
    }
}
