import struct Crypto.SHA256
import VesselCore

/// A version's digest: SHA-256 over the files' raw 32-byte digests in path order — the same
/// root digest an OpenSSF model-signing statement carries for the same folder.
public enum RootDigest {
    public static func of(_ manifest: Manifest) -> Digest {
        of(digests: manifest.entries.map(\.digest))
    }

    /// - Parameter digests: file digests already in path order.
    public static func of(digests: [Digest]) -> Digest {
        var hasher = SHA256()
        for digest in digests { hasher.update(data: digest.bytes) }
        return Digest(bytes: hasher.finalize())
    }
}
