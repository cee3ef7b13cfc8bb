import Foundation
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// `vessel sign DIR` and `vessel verify DIR`: model-signing bundles over a folder on disk,
/// walked with ``ModelFolder``'s rules and hashed in parallel with ``FileHasher``.
///
/// Two paths are always recorded in the bundle's `ignore_paths` next to model-signing's git
/// paths, so that `model_signing verify key` agrees with Vessel on which files count:
/// the pull marker `.vessel.json` (Vessel's walker skips it; model-signing would not), and
/// the signature file itself when it lies inside the folder (model-signing does the same).
public enum FolderSigning {
    /// Signs every file of `folder` and returns the bundle (UTF-8 JSON, no trailing newline).
    /// - Parameters:
    ///   - signaturePath: where the bundle will be written; when inside `folder` it is left
    ///     out of the resources and named in `ignore_paths`.
    ///   - subjectName: the statement subject; default the folder's name, as model-signing does.
    /// - Throws: `VesselError` (`not_found`, `invalid_argument`) for a folder that cannot be
    ///   walked or read; the key's error when signing fails.
    public static func sign(folder: String, key: any SigningKey, signaturePath: String?, subjectName: String? = nil, progress: (@Sendable (UInt64) -> Void)? = nil) async throws -> SignedFolder {
        let (model, signatureInside) = try walk(folder, signaturePath: signaturePath)
        let manifest = try await FileHasher.manifest(of: model, progress: progress)
        var ignore = [ManifestPath.pullMarker]
        if let signatureInside { ignore.append(signatureInside) }
        let name = subjectName ?? Self.folderName(folder)
        let bundle = try BundleWriter(key: key).makeBundle(subjectName: name, resources: manifest.signedResources, additionalIgnorePaths: ignore)
        return SignedFolder(bundle: bundle, subjectName: name, rootDigest: RootDigest.of(manifest), files: manifest.entries.count)
    }

    /// Verifies the bundle at `signaturePath` with `key`, then hashes `folder` and compares.
    /// The bundle is checked first, so a wrong key or a tampered bundle fails before any file
    /// is read.
    /// - Throws: ``VerificationError`` for the bundle; ``FolderMismatch`` listing every
    ///   changed, missing and extra file; `VesselError` for a folder that cannot be read.
    public static func verify(folder: String, signaturePath: String, key: VerificationKey, progress: (@Sendable (UInt64) -> Void)? = nil) async throws -> SignedFolder {
        let statement = try BundleVerifier(publicKey: key).verify(bundleAtPath: signaturePath)
        let (model, _) = try walk(folder, signaturePath: signaturePath)
        let manifest = try await FileHasher.manifest(of: model, progress: progress)
        let differences = BundleVerifier.compare(statement, with: manifest.signedResources)
        if !differences.isEmpty { throw FolderMismatch(differences: differences) }
        return SignedFolder(bundle: nil, subjectName: statement.subjectName, rootDigest: Digest(bytes: statement.rootDigest), files: statement.resources.count)
    }

    /// The folder's files, without the signature file when it lies inside; and that file's
    /// path relative to the folder.
    static func walk(_ folder: String, signaturePath: String?) throws(VesselError) -> (ModelFolder, String?) {
        let model = try ModelFolder(root: folder)
        guard let signaturePath, let inside = relativePath(of: signaturePath, inside: folder) else { return (model, nil) }
        return (model.excluding([inside]), inside)
    }

    /// `path` relative to `folder` when it lies inside it (symlinks and `..` resolved), else nil.
    static func relativePath(of path: String, inside folder: String) -> String? {
        guard let root = realPath(folder) else { return nil }
        let url = URL(fileURLWithPath: path)
        guard let parent = realPath(url.deletingLastPathComponent().path) else { return nil }
        let full = parent == "/" ? "/\(url.lastPathComponent)" : "\(parent)/\(url.lastPathComponent)"
        let prefix = root == "/" ? "/" : root + "/"
        guard full.hasPrefix(prefix), full.count > prefix.count else { return nil }
        return String(full.dropFirst(prefix.count))
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func folderName(_ folder: String) -> String {
        let name = URL(fileURLWithPath: realPath(folder) ?? folder).lastPathComponent
        return name.isEmpty ? "model" : name
    }
}

/// The outcome of signing or verifying a folder.
public struct SignedFolder: Sendable {
    /// The bundle written (signing only).
    public let bundle: [UInt8]?
    public let subjectName: String
    public let rootDigest: Digest
    /// Number of files signed or verified.
    public let files: Int
}

/// A folder that does not match a verified signature: one entry per changed, missing or
/// extra file, in model-signing path order. Its code and message are the first difference's.
public struct FolderMismatch: SigningLibraryError {
    public let differences: [VerificationError]

    public var code: String { differences.first?.code ?? "file_changed" }

    public var message: String {
        let first = differences.first?.message ?? "the folder does not match the signature"
        return differences.count > 1 ? "\(first) (and \(differences.count - 1) more difference(s))" : first
    }

    public var isUnreadableInput: Bool { false }
}

extension Manifest {
    /// The manifest's files as model-signing resources.
    public var signedResources: [SignedResource] {
        entries.map { SignedResource(path: $0.path, sha256: $0.digest.bytes) }
    }
}
