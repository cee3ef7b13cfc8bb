import VesselCore

/// A committed blob as the store holds it.
public struct StoredBlob: Sendable, Equatable {
    public var digest: Digest
    public var size: UInt64
    public init(digest: Digest, size: UInt64) {
        self.digest = digest
        self.size = size
    }
}

/// A blob store that can enumerate what it holds (`vessel fsck` lists orphans with it).
///
/// Contract: every committed blob is listed once with its stored size; writes in flight
/// (temporary files, multipart uploads) and upload sessions are not. A blob committed while
/// listing may or may not be listed.
public protocol BlobListing: Sendable {
    func listBlobs() async throws -> [StoredBlob]
}
