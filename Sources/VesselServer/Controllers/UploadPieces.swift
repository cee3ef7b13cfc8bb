import Logging
import VesselCore
import VesselMetadata

/// Keeps the piece digests an upload computed on the way with the blob (decision 0038), right
/// after the blob row. A failure here does not fail the upload: the registry then computes
/// them the first time a peer needs them (`PieceDigests`).
enum UploadPieces {
    static let logger = Logger(label: "vessel.pieces")

    static func record(_ store: Any, _ digest: Digest, size: UInt64, pieces: [String]?) async {
        guard let pieces, let peers = store as? any PeerStore else { return }
        guard pieces.count == BlobSources.pieceCount(size: Int64(size), pieceSize: PeerProtocol.pieceSize) else {
            logger.warning("piece digests of \(digest) do not fit its \(size) bytes; not kept")
            return
        }
        do {
            try await peers.recordBlobPieces(of: digest, pieceSize: PeerProtocol.pieceSize, pieces: pieces)
        } catch {
            logger.warning("could not keep the piece digests of \(digest): \(error)")
        }
    }
}
