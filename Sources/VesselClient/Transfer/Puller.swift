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
        var transferred: UInt64 = 0
        try await withThrowingTaskGroup(of: (Digest, String, UInt64, Int).self) { group in
            // With peers, each node takes the blobs in its own order, so nodes starting together
            // fetch different blobs from the origin and then share them.
            var queue = (peers == nil ? needed.sorted { $0.value > $1.value } : needed.map { $0 }.shuffled())[...]
            var busy = 0
            func startWhatFits() {
                while let item = queue.first, busy == 0 || busy + slots(item.value) <= parallelism {
                    queue.removeFirst()
                    let taken = slots(item.value)
                    busy += taken
                    let chosen = taken > 1 ? wideDownloader : downloader
                    group.addTask {
                        let (path, bytes) = try await chosen.fetch(model: reference.model, digest: item.key, size: item.value)
                        return (item.key, path, bytes, taken)
                    }
                }
            }
            startWhatFits()
            while let (digest, path, bytes, taken) = try await group.next() {
                located[digest] = path
                transferred += bytes
                busy -= taken
                startWhatFits()
            }
        }
        try Materializer.materialize(manifest: manifest, from: located, marker: PullMarker(model: version.model, version: version.version, digest: version.digest), into: destination)
        return PullResult(model: version.model, version: version.version, digest: version.digest, files: manifest.entries.count, bytesDownloaded: transferred, verifiedSignature: verified,
                          bytesFromPeers: peers?.bytesFromPeers)
    }
}
