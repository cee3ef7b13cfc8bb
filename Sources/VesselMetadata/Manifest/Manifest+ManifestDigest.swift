import Crypto
import VesselCore

/// The manifest digest: what a version holds, names included (docs/api.md, "Which digest is
/// which"; decision 0013). A version's `digest` is the model-signing root digest, SHA-256 over
/// the file digests in path order, and does not change when files are renamed; the manifest
/// digest does, so checks and everything else keyed by a version's content use it.
extension Manifest {
    /// The first line of the canonical encoding; a new encoding gets a new version here.
    public static let manifestDigestHeader = "vessel-manifest-v1\n"

    /// `sha256:` + the lowercase hex SHA-256 of `canonicalEncoding`.
    public var manifestDigest: VesselCore.Digest { Self.manifestDigest(ofOrdered: entries) }

    /// The bytes the manifest digest is taken over, exactly as docs/api.md specifies them.
    public var canonicalEncoding: [UInt8] { Self.canonicalEncoding(ofOrdered: entries) }

    /// The manifest digest of entries already in manifest order (`ManifestPath.precedes`, as
    /// stored), without validating them again: the migration that fills in the manifest digest
    /// of existing versions uses it, so a rule tightened since a version was pushed cannot
    /// stop the database from opening.
    public static func manifestDigest(ofOrdered entries: [ManifestEntry]) -> VesselCore.Digest {
        VesselCore.Digest(bytes: SHA256.hash(data: canonicalEncoding(ofOrdered: entries)))
    }

    /// `vessel-manifest-v1\n`, then per entry, in the order given:
    /// `path=<byte length>:<path bytes>\nsize=<decimal>\ndigest=sha256:<64 lowercase hex>\n`.
    /// The media type is not part of it: it is guessed from the path and informational only.
    public static func canonicalEncoding(ofOrdered entries: [ManifestEntry]) -> [UInt8] {
        var out = Array(manifestDigestHeader.utf8)
        for entry in entries {
            let path = Array(entry.path.utf8)
            out += Array("path=\(path.count):".utf8)
            out += path
            out += Array("\nsize=\(entry.size)\ndigest=\(entry.digest)\n".utf8)
        }
        return out
    }
}
