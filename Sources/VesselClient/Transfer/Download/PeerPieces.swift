import Foundation
import Synchronization
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// The peers of one pull, shared by all its blobs (docs/peers.md, "Pulling from peers"): a
/// peer that served a bad piece, failed, or missed a piece's deadline is dropped for the rest
/// of the pull.
public final class PeerSession: Sendable {
    /// How long one piece may take from a peer before it goes elsewhere.
    let pieceDeadline: Duration
    private let dropped = Mutex<Set<String>>([])
    private let reported = Mutex<[String]>([])
    private let fromPeers = Mutex<UInt64>(0)

    public init(pieceDeadline: Duration = PeerSession.defaultPieceDeadline()) {
        self.pieceDeadline = pieceDeadline
    }

    /// 60 s, or `VESSEL_PEER_PIECE_DEADLINE` seconds.
    public static func defaultPieceDeadline(environment: [String: String] = ProcessInfo.processInfo.environment) -> Duration {
        if let text = environment["VESSEL_PEER_PIECE_DEADLINE"], let seconds = Double(text), seconds > 0 { return .milliseconds(Int64(seconds * 1000)) }
        return .seconds(60)
    }

    func drop(_ id: String) { _ = dropped.withLock { $0.insert(id) } }
    func isDropped(_ id: String) -> Bool { dropped.withLock { $0.contains(id) } }
    func noteReported(_ id: String) { reported.withLock { $0.append(id) } }
    func addFromPeers(_ bytes: UInt64) { fromPeers.withLock { $0 += bytes } }
    /// The bytes of this pull that came from peers (checked pieces).
    public var bytesFromPeers: UInt64 { fromPeers.withLock { $0 } }
    /// The peers reported during this pull (for tests and `--json`).
    public var reportedPeers: [String] { reported.withLock { $0 } }
}

/// One blob's sources during a parted download from peers: its piece digests, the peers
/// still usable, whose turn it is, and how often each piece failed at a peer.
final class PeerPieces: Sendable {
    private struct State {
        var sources: BlobSources
        var fetchedAt: ContinuousClock.Instant
        var turn = 0
        var failures: [Int: Int] = [:]
    }
    let session: PeerSession
    private let state: Mutex<State>

    init(_ sources: BlobSources, session: PeerSession) {
        self.session = session
        state = Mutex(State(sources: sources, fetchedAt: .now))
    }

    var pieceSize: UInt64 { UInt64(state.withLock { $0.sources.pieceSize }) }
    var ticket: String { state.withLock { $0.sources.ticket } }

    /// A ticket lives 5 minutes: one older than 4 is replaced before it is used.
    var ticketIsOld: Bool { state.withLock { $0.fetchedAt.duration(to: .now) > .seconds(240) } }
    func renew(_ sources: BlobSources) {
        state.withLock {
            $0.sources.ticket = sources.ticket
            $0.sources.peers = sources.peers
            $0.fetchedAt = .now
        }
    }

    /// The expected hex SHA-256 of the piece starting at `offset`.
    func expectedDigest(at offset: UInt64) -> String? {
        state.withLock { state in
            let index = Int(offset / UInt64(state.sources.pieceSize))
            return index < state.sources.pieces.count ? state.sources.pieces[index] : nil
        }
    }

    /// Who serves the piece at `offset`: the next peer in turn that is not dropped, or nil for
    /// the origin (no peer left, or the piece already failed at two peers).
    func source(for offset: UInt64) -> PeerEndpoint? {
        state.withLock { state in
            let index = Int(offset / UInt64(state.sources.pieceSize))
            guard state.failures[index, default: 0] < 2 else { return nil }
            let live = state.sources.peers.filter { !session.isDropped($0.id) }
            guard !live.isEmpty else { return nil }
            state.turn += 1
            return live[state.turn % live.count]
        }
    }

    func failed(at offset: UInt64) {
        state.withLock { state in
            let index = Int(offset / UInt64(state.sources.pieceSize))
            state.failures[index, default: 0] += 1
        }
    }

    /// The pieces a download still needs when `received` arrived: every piece not wholly
    /// inside one received range, whole (a piece is checked as a unit).
    static func plan(received: [Range<UInt64>], size: UInt64, pieceSize: UInt64) -> [Range<UInt64>] {
        var queue: [Range<UInt64>] = []
        var start: UInt64 = 0
        while start < size {
            let piece = start..<min(start + pieceSize, size)
            if !received.contains(where: { $0.lowerBound <= piece.lowerBound && piece.upperBound <= $0.upperBound }) { queue.append(piece) }
            start = piece.upperBound
        }
        return queue
    }

    /// `received` cut down to whole pieces: bytes of a piece that was not checked as a whole
    /// count as missing.
    static func wholePieces(of received: [Range<UInt64>], size: UInt64, pieceSize: UInt64) -> [Range<UInt64>] {
        let missing = plan(received: received, size: size, pieceSize: pieceSize)
        var result: [Range<UInt64>] = []
        var start: UInt64 = 0
        for piece in missing {
            if piece.lowerBound > start { result.append(start..<piece.lowerBound) }
            start = piece.upperBound
        }
        if start < size { result.append(start..<size) }
        return result
    }
}

/// `.peer.json` in a cache folder: a peer (`vessel cache serve`, `vessel agent --share`) shares
/// this cache as `peerID` (written after each announcement the registry accepted, removed on a
/// clean stop). A pull on the same cache asks for origin leases as that peer (decision 0037);
/// one whose marker ran out (a killed peer) is ignored.
public struct PeerMarker: Codable, Sendable, Equatable {
    public var peerID: String
    /// Unix seconds: when the announcement it stands for runs out.
    public var expiresAt: Int

    public init(peerID: String, expiresAt: Int) {
        self.peerID = peerID
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case peerID = "peer_id"
        case expiresAt = "expires_at"
    }

    public static func path(in cacheRoot: String) -> String { "\(cacheRoot)/.peer.json" }

    /// The live marker of `cacheRoot`, if any.
    public static func read(cacheRoot: String, now: Date = Date()) -> PeerMarker? {
        guard let data = FileManager.default.contents(atPath: path(in: cacheRoot)),
              let marker = try? JSONDecoder().decode(PeerMarker.self, from: data),
              marker.expiresAt > Int(now.timeIntervalSince1970), (try? PeerID.validate(marker.peerID)) != nil else { return nil }
        return marker
    }

    /// Writes it by rename, so a reader never sees half of it.
    public func write(cacheRoot: String) throws {
        let target = Self.path(in: cacheRoot)
        let temporary = "\(target).\(ProcessInfo.processInfo.processIdentifier).tmp"
        try JSONEncoder().encode(self).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, target) == 0 else {
            unlink(temporary)
            throw VesselError(.internalError, "cannot write \(target)")
        }
    }

    public static func remove(cacheRoot: String) { unlink(path(in: cacheRoot)) }
}
