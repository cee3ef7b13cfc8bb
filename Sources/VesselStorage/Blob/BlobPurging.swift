import VesselCore

/// A blob store that can free a blob's bytes for good (the garbage collector's last step).
///
/// Contract: after `purge(_:)` returns, no byte of any listed blob remains in the store: on a
/// versioned bucket every version and delete marker of its key is removed; on a filesystem its
/// file, and its folder when that is left empty. Absent blobs are not an error.
public protocol BlobPurging: Sendable {
    /// Removes the blobs; returns how many objects or object versions it deleted.
    func purge(_ digests: [Digest]) async throws -> Int
}
