import Foundation
import VesselCore
import VesselSigning

#if canImport(Glibc)
import Glibc
#endif

/// What `vessel pull --json` prints.
public struct PullResult: Codable, Sendable {
    public var model: ModelName
    public var version: Int
    public var digest: Digest
    public var files: Int
    public var bytesDownloaded: UInt64
    /// The signature that verified before anything was downloaded (`--verify-key`), else absent.
    public var verifiedSignature: SignatureInfo?
    /// Of `bytes_downloaded`, those that came from peers (checked piece by piece); absent with
    /// `--peers off`.
    public var bytesFromPeers: UInt64?

    enum CodingKeys: String, CodingKey {
        case model, version, digest, files
        case bytesDownloaded = "bytes_downloaded"
        case bytesFromPeers = "bytes_from_peers"
        case verifiedSignature = "verified_signature"
    }
}

/// Pull: resolve, fetch each blob from the cache or the server (parallel, verified), build the
/// folder beside the destination, then swap it into place. On any failure the destination is
/// untouched. With `verifyKeys`, a signature must verify (``SignatureGate``) before anything is
/// downloaded.
public struct Puller: Sendable {
    let api: APIClient
    let cache: BlobCache
    let progress: TransferProgress?
    public var parallelism = 4
    /// Fetch pieces from peers the registry names (`--peers auto`); nil: the origin only.
    public var peers: PeerSession?

    public init(api: APIClient, cache: BlobCache, progress: TransferProgress? = nil) {
        self.api = api
        self.cache = cache
        self.progress = progress
    }

    public func pull(_ reference: Reference, into destination: String, verifyCache: Bool, allowQuarantined: Bool, verifyKeys: [VerificationKey] = []) async throws -> PullResult {
        try Materializer.checkDestination(destination)
        let version = try await api.resolve(reference)
        switch version.state {
        case .ready, .archived: break
        case .quarantined where allowQuarantined: break
        case .quarantined:
            let reasons = version.findings.map { "\($0.path.map { "\($0): " } ?? "")\($0.message)" }.joined(separator: "; ")
            throw VesselError(.quarantined, "\(version.model):\(version.version) is quarantined (\(reasons)); pass --allow-quarantined to pull it anyway")
        default:
            throw VesselError(.versionNotReady, "\(version.model):\(version.version) is \(version.state.rawValue)")
        }
        let manifest = try Manifest(entries: version.manifest ?? [])
        guard RootDigest.of(manifest) == version.digest else {
            throw VesselError(.digestMismatch, "the server's manifest does not hash to the version digest \(version.digest)")
        }
        var verified: SignatureInfo?
        if !verifyKeys.isEmpty {
            progress?.begin("verifying", total: 0)
            verified = try await SignatureGate.verify(version, manifest: manifest, keys: verifyKeys, api: api)
        }
        var needed: [Digest: UInt64] = manifest.blobs
        var located: [Digest: String] = [:]
        for (digest, size) in needed {
            if let path = cache.lookup(digest, size: size, verify: verifyCache) { located[digest] = path }
        }
        for digest in located.keys { needed[digest] = nil }
        progress?.begin("downloading", total: needed.values.reduce(0, +))
        var parted = Downloader(api: api, cache: cache, progress: progress)
        // Connections left over when fewer blobs than `parallelism` are needed go to ranged
        // parts of the large ones.
        parted.streams = max(1, parallelism / max(1, min(parallelism, needed.count)))
        parted.peers = peers
        let downloader = parted
        var wideParted = parted
        wideParted.streams = parallelism
        let wideDownloader = wideParted
        // A blob takes one of the `parallelism` slots, or all of them when it comes from peers
        // in several pieces: nodes starting together then each fetch a different large blob
        // from the origin first, and the next one is likely on a peer by the time it is asked
        // for (docs/peers.md, decision 0036). Blobs of one piece or less go `parallelism` at a
        // time, so a model of many small files does not wait on one round trip per file.
        let wide = UInt64(PeerProtocol.pieceSize)
        func slots(_ size: UInt64) -> Int { peers != nil && size > wide ? parallelism : 1 }
        // This cache is shared by a live peer (`.peer.json`): ask for origin leases as that peer,
        // so nodes starting together fetch each blob from the origin once (decision 0037).
        let sharing = peers == nil ? nil : PeerMarker.read(cacheRoot: cache.root)?.peerID
        var transferred: UInt64 = 0
        try await withThrowingTaskGroup(of: Outcome.self) { group in
            // With peers, each node takes the blobs in its own order, so nodes starting together
            // fetch different blobs from the origin and then share them.
            var queue = (peers == nil ? needed.sorted { $0.value > $1.value } : needed.map { $0 }.shuffled()).map { Pending(digest: $0.key, size: $0.value) }[...]
            var busy = 0
            func startWhatFits() {
                while let item = queue.first, busy == 0 || busy + slots(item.size) <= parallelism {
                    queue.removeFirst()
                    let taken = slots(item.size)
                    busy += taken
                    let chosen = taken > 1 ? wideDownloader : downloader
                    group.addTask {
                        if let notBefore = item.notBefore { try await Task.sleep(until: notBefore, clock: .continuous) }
                        var answer = OriginLeaseAnswer.fetch
                        if let sharing, !item.waitedLongEnough { answer = await chosen.originLease(model: reference.model, digest: item.digest, peer: sharing) }
                        switch answer {
                        case .wait:
                            return .deferred(item.deferredAgain(), taken)
                        case .hold:
                            let (path, bytes) = try await chosen.fetchHoldingLease(model: reference.model, digest: item.digest, size: item.size, peer: sharing ?? "")
                            return .done(item.digest, path, bytes, taken)
                        case .fetch:
                            let (path, bytes) = try await chosen.fetch(model: reference.model, digest: item.digest, size: item.size)
                            return .done(item.digest, path, bytes, taken)
                        }
                    }
                }
            }
            startWhatFits()
            while let outcome = try await group.next() {
                switch outcome {
                case let .done(digest, path, bytes, taken):
                    located[digest] = path
                    transferred += bytes
                    busy -= taken
                case let .deferred(item, taken):
                    // Another node is fetching it from the origin: the rest of the queue first,
                    // then ask again after a short, growing pause.
                    queue.append(item)
                    busy -= taken
                }
                startWhatFits()
            }
        }
        try Materializer.materialize(manifest: manifest, from: located, marker: PullMarker(model: version.model, version: version.version, digest: version.digest), into: destination)
        return PullResult(model: version.model, version: version.version, digest: version.digest, files: manifest.entries.count, bytesDownloaded: transferred, verifiedSignature: verified,
                          bytesFromPeers: peers?.bytesFromPeers)
    }
}

/// A blob still to fetch; one deferred because another node holds its origin lease comes back
/// after a pause (0.25 s, 0.5 s, then every second) and is fetched regardless after two lease
/// lifetimes of waiting (a holder that renews but never finishes).
struct Pending: Sendable {
    var digest: Digest
    var size: UInt64
    var deferrals = 0
    var since: ContinuousClock.Instant?
    var notBefore: ContinuousClock.Instant?

    init(digest: Digest, size: UInt64) {
        self.digest = digest
        self.size = size
    }

    var waitedLongEnough: Bool { since.map { $0.duration(to: .now) > .seconds(2 * PeerProtocol.originLeaseSeconds) } ?? false }

    func deferredAgain() -> Pending {
        var next = self
        next.deferrals += 1
        next.since = since ?? .now
        next.notBefore = .now + .milliseconds(min(1000, 250 << min(deferrals, 2)))
        return next
    }
}

/// How one blob's task ended: fetched (its path, bytes and slots), or deferred (its slots).
enum Outcome: Sendable {
    case done(Digest, String, UInt64, Int)
    case deferred(Pending, Int)
}
