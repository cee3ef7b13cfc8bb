import Crypto
import Foundation
import VesselCore
import VesselSigning

#if canImport(Glibc)
import Glibc
#endif

/// The JSON documents of an OCI image layout (image-spec v1.1), as much of them as Vessel
/// writes and reads.
public enum OCI {
    public static let layoutVersion = "1.0.0"
    public static let indexType = "application/vnd.oci.image.index.v1+json"
    public static let manifestType = "application/vnd.oci.image.manifest.v1+json"
    public static let configType = "application/vnd.oci.image.config.v1+json"
    public static let layerType = "application/vnd.oci.image.layer.v1.tar"
    /// Docker's name for an uncompressed layer; read, never written.
    static let dockerLayerType = "application/vnd.docker.image.rootfs.diff.tar"
    /// Gzip layers (what a plain `skopeo copy` to a layout makes); read, never written.
    static let gzipLayerTypes: Set<String> = ["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip"]

    public static let refName = "org.opencontainers.image.ref.name"
    public static let titleKey = "org.opencontainers.image.title"
    public static let versionKey = "org.opencontainers.image.version"
    public static let modelAnnotation = "dev.vessel.model"
    public static let versionAnnotation = "dev.vessel.version"
    public static let digestAnnotation = "dev.vessel.version.digest"

    /// Where a version's files live inside the image.
    public static func root(of model: ModelName) -> String { "models/\(model.owner)/\(model.name)/" }

    struct Descriptor: Codable, Equatable {
        var mediaType: String
        var digest: String
        var size: UInt64
        var annotations: [String: String]?
    }

    struct Manifest: Codable {
        var schemaVersion: Int
        var mediaType: String?
        var config: Descriptor
        var layers: [Descriptor]
        var annotations: [String: String]?
    }

    struct Index: Codable {
        var schemaVersion: Int
        var mediaType: String?
        var manifests: [Descriptor]
        var annotations: [String: String]?
    }

    struct ImageConfig: Codable {
        struct Config: Codable {
            var Labels: [String: String]?
            var WorkingDir: String?
        }
        struct RootFS: Codable {
            var type: String
            var diff_ids: [String]
        }
        struct History: Codable {
            var created_by: String?
            var comment: String?
        }
        var architecture: String
        var os: String
        var config: Config?
        var rootfs: RootFS
        var history: [History]?
    }

    struct LayoutFile: Codable { var imageLayoutVersion: String }

    /// A tag as the OCI distribution spec allows it.
    public static func validateTag(_ tag: String) throws(VesselError) {
        let bytes = Array(tag.utf8)
        func word(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == UInt8(ascii: "_") }
        guard let first = bytes.first, word(first), bytes.count <= 128,
              bytes.allSatisfy({ word($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") })
        else { throw .invalidArgument("tag '\(tag.prefix(140))' must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}") }
    }

    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // The types above hold strings, numbers and arrays only: encoding cannot fail.
        return Array((try? encoder.encode(value)) ?? Data())
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String) throws(VesselError) -> T {
        do { return try JSONDecoder().decode(type, from: Data(bytes)) } catch {
            throw .invalidArgument("\(what) is not a valid OCI document: \(error)")
        }
    }

    /// `sha256:<hex>` of a descriptor, refused in any other form, so a digest can never name a
    /// path outside `blobs/sha256/`.
    static func blobPath(_ layout: String, _ digest: String) throws(VesselError) -> String {
        guard let parsed = try? VesselCore.Digest(digest) else {
            throw .invalidArgument("the layout names blob '\(digest.prefix(80))'; only sha256 digests are supported")
        }
        return "\(layout)/blobs/sha256/\(parsed.hex)"
    }

    static func sha256(_ bytes: [UInt8]) -> VesselCore.Digest { VesselCore.Digest(bytes: Array(SHA256.hash(data: bytes))) }

    /// `bytes` written to `path` through a temporary file and a rename.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(VesselError) {
        let temporary = "\(path).partial-\(UUID().uuidString)"
        let writer = try HashingFileWriter(path: temporary)
        do {
            try writer.write(bytes)
            _ = try writer.finish()
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .invalidArgument("cannot write '\(path)': \(String(cString: strerror(errno)))")
        }
    }

    static func readFile(_ path: String, limit: Int = 16 << 20) throws(VesselError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .notFound("'\(path)' does not exist or cannot be read") }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: limit + 1)) ?? Data()
        guard data.count <= limit else { throw .invalidArgument("'\(path)' is larger than \(limit) bytes") }
        return Array(data)
    }

    /// The architecture of this machine in OCI's words.
    static var hostArchitecture: String {
        var name = utsname()
        uname(&name)
        let machine = withUnsafePointer(to: name.machine) { $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) } }
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64", "arm64": return "arm64"
        default: return machine
        }
    }
}
