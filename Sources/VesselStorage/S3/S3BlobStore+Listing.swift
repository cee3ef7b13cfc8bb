import VesselCore

extension S3BlobStore: BlobListing {
    /// Every object under `<prefix>/blobs/sha256/` (one `ListObjectsV2` page per 1,000 blobs).
    public func listBlobs() async throws -> [StoredBlob] {
        let prefix = client.location.key("blobs/sha256/")
        return try await client.listAllObjects(prefix: prefix).compactMap { object in
            guard object.key.hasPrefix(prefix), let digest = try? Digest(hex: String(object.key.dropFirst(prefix.count))) else { return nil }
            return StoredBlob(digest: digest, size: object.size)
        }
    }
}
