import Crypto
import Foundation
import VesselCore
import VesselSigning

#if canImport(Glibc)
import Glibc
#endif

/// What an image in a layout held, once read and checked.
public struct OCIImported: Sendable {
    /// The model the image's annotations name (the folder its files were under), or the
    /// target model when it names none.
    public var source: ModelName
    public var manifest: Manifest
    public var digest: VesselCore.Digest
    public var annotatedVersion: Int?
    public var manifestDigest: VesselCore.Digest
}

/// Reads an image out of an OCI image layout into a folder, checking every blob (index entry,
/// manifest, config, each layer) against its digest while reading it, and refusing any tar entry
/// that is not a regular file or folder at or under `/models/OWNER/NAME/` (docs/oci.md).
public enum OCIImport {
    /// `DIR` or `DIR:TAG` (a colon followed by no `/`).
    public static func splitReference(_ text: String) -> (layout: String, tag: String?) {
        guard let colon = text.lastIndex(of: ":") else { return (text, nil) }
        let tag = text[text.index(after: colon)...]
        guard !tag.isEmpty, !tag.contains("/") else { return (text, nil) }
        return (String(text[..<colon]), String(tag))
    }

    public static func extract(layout: String, tag: String?, model: ModelName, into folder: String) throws(VesselError) -> OCIImported {
        let layoutFile = try OCI.decode(OCI.LayoutFile.self, OCI.readFile("\(layout)/oci-layout"), what: "\(layout)/oci-layout")
        guard layoutFile.imageLayoutVersion.hasPrefix("1.") else {
            throw .invalidArgument("'\(layout)' is an OCI layout of version \(layoutFile.imageLayoutVersion); only 1.x is supported")
        }
        let index = try OCI.decode(OCI.Index.self, OCI.readFile("\(layout)/index.json"), what: "\(layout)/index.json")
        let tags = index.manifests.compactMap { $0.annotations?[OCI.refName] }
        let chosen: OCI.Descriptor
        if let tag {
            guard let found = index.manifests.last(where: { $0.annotations?[OCI.refName] == tag }) else {
                throw .notFound("the layout '\(layout)' has no tag '\(tag)' (tags: \(tags.isEmpty ? "none" : tags.joined(separator: ", ")))")
            }
            chosen = found
        } else {
            guard index.manifests.count == 1 else {
                throw .invalidArgument("the layout '\(layout)' holds \(index.manifests.count) images; name one as \(layout):TAG (tags: \(tags.isEmpty ? "none" : tags.joined(separator: ", ")))")
            }
            chosen = index.manifests[0]
        }
        guard chosen.mediaType == OCI.manifestType else {
            throw .invalidArgument("the image is a \(chosen.mediaType), not an image manifest (\(OCI.manifestType)); a multi-platform index cannot be imported")
        }
        let manifestBytes = try readVerified(chosen, layout: layout, what: "the image manifest")
        let manifest = try OCI.decode(OCI.Manifest.self, manifestBytes, what: "the image manifest \(chosen.digest)")
        let configBytes = try readVerified(manifest.config, layout: layout, what: "the image config")
        let config = try OCI.decode(OCI.ImageConfig.self, configBytes, what: "the image config \(manifest.config.digest)")
        for layer in manifest.layers where layer.mediaType != OCI.layerType && layer.mediaType != OCI.dockerLayerType && !OCI.gzipLayerTypes.contains(layer.mediaType) {
            throw .invalidArgument("layer \(layer.digest) is \(layer.mediaType); only tar layers, uncompressed or gzip, are read (copy with `skopeo copy --dest-oci-accept-uncompressed-layers` to keep them uncompressed)")
        }
        guard config.rootfs.diff_ids.count == manifest.layers.count else {
            throw .invalidArgument("the image config names \(config.rootfs.diff_ids.count) diff_ids for \(manifest.layers.count) layers")
        }
        let annotations = manifest.annotations ?? config.config?.Labels ?? [:]
        var source = model
        if let annotated = annotations[OCI.modelAnnotation] { source = try ModelName(annotated) }
        var annotatedDigest: VesselCore.Digest?
        if let annotated = annotations[OCI.digestAnnotation] { annotatedDigest = try VesselCore.Digest(annotated) }
        let annotatedVersion = annotations[OCI.versionAnnotation].flatMap { Int($0) }

        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var entries: [ManifestEntry] = []
        var seen: Set<String> = []
        for (layer, diffID) in zip(manifest.layers, config.rootfs.diff_ids) {
            entries += try extractLayer(layer, diffID: diffID, layout: layout, source: source, folder: folder, seen: &seen)
        }
        let files: Manifest
        do { files = try Manifest(entries: entries) } catch { throw .invalidArgument("the image's files do not form a version: \(error.message)") }
        let digest = RootDigest.of(files)
        if let annotatedDigest, annotatedDigest != digest {
            throw VesselError(.digestMismatch, "the image's files hash to \(digest), but it is annotated as \(source) version digest \(annotatedDigest)")
        }
        return OCIImported(source: source, manifest: files, digest: digest, annotatedVersion: annotatedVersion, manifestDigest: try VesselCore.Digest(chosen.digest))
    }

    /// A small blob, read whole and checked against its descriptor's digest and size.
    static func readVerified(_ descriptor: OCI.Descriptor, layout: String, what: String) throws(VesselError) -> [UInt8] {
        let bytes = try OCI.readFile(OCI.blobPath(layout, descriptor.digest))
        let digest = OCI.sha256(bytes)
        guard "\(digest)" == descriptor.digest, UInt64(bytes.count) == descriptor.size else {
            throw VesselError(.digestMismatch, "\(what) \(descriptor.digest) (\(descriptor.size) bytes) holds \(bytes.count) bytes hashing to \(digest): the layout was altered")
        }
        return bytes
    }

    /// The path of a tar entry relative to the version's folder; nil for the folders above it
    /// (`models/`, `models/OWNER/`, `models/OWNER/NAME/`).
    /// - Throws: `invalid_argument` for `..`, `.` or empty components past a leading `./` or
    ///   `/`, and for anything outside `models/OWNER/NAME/`.
    static func relativePath(_ raw: String, root: String, isDirectory: Bool) throws(VesselError) -> String? {
        var path = Substring(raw)
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        while path.hasPrefix("/") { path = path.dropFirst() }
        if isDirectory, path.hasSuffix("/") { path = path.dropLast() }
        let shown = raw.prefix(200)
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !raw.utf8.contains(0), !path.isEmpty, !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw .invalidArgument("tar entry '\(shown)' is refused: a path with '..', '.' or an empty component could point outside /\(root)")
        }
        if parts.contains(where: { $0.hasPrefix(".wh.") }) {
            throw .invalidArgument("tar entry '\(shown)' is an overlay whiteout; an exported version has none")
        }
        let rootParts = root.split(separator: "/")
        if isDirectory, parts.count <= rootParts.count, Array(parts) == Array(rootParts.prefix(parts.count)) { return nil }
        guard parts.count > rootParts.count, Array(parts.prefix(rootParts.count)) == rootParts else {
            throw .invalidArgument("tar entry '\(shown)' is outside /\(root); an image of this model holds files only there")
        }
        return parts.dropFirst(rootParts.count).joined(separator: "/")
    }

    static func extractLayer(_ layer: OCI.Descriptor, diffID: String, layout: String, source: ModelName, folder: String, seen: inout Set<String>) throws(VesselError) -> [ManifestEntry] {
        let reader = try TarReader(path: OCI.blobPath(layout, layer.digest), gzip: OCI.gzipLayerTypes.contains(layer.mediaType))
        let root = OCI.root(of: source)
        var entries: [ManifestEntry] = []
        var fd: Int32 = -1
        var hasher = SHA256()
        defer { if fd >= 0 { close(fd) } }
        var seenHere = seen
        while let entry = try reader.next({ (_, piece) throws(VesselError) in
            hasher.update(data: piece)
            var offset = piece.startIndex
            while offset < piece.endIndex {
                let written = piece[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw .invalidArgument("cannot write into '\(folder)': \(String(cString: strerror(errno)))") }
                offset += written
            }
        }, begin: { (entry) throws(VesselError) in
            if fd >= 0 { close(fd); fd = -1 }
            guard let relative = try relativePath(entry.path, root: root, isDirectory: entry.kind == .directory) else { return }
            try ManifestPath.validate(relative)
            let target = "\(folder)/\(relative)"
            if entry.kind == .directory {
                try? FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                return
            }
            guard seenHere.insert(relative).inserted else {
                throw .invalidArgument("'\(relative)' appears more than once in the image; an exported version holds each file once")
            }
            let parent = (target as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .invalidArgument("cannot create '\(target)': \(String(cString: strerror(errno)))") }
            hasher = SHA256()
        }) {
            if entry.kind == .file, let relative = try relativePath(entry.path, root: root, isDirectory: false) {
                close(fd)
                fd = -1
                entries.append(ManifestEntry(path: relative, size: entry.size, digest: VesselCore.Digest(bytes: Array(hasher.finalize()))))
            }
        }
        let (digest, size, tarDigest) = try reader.finish()
        guard "\(digest)" == layer.digest, size == layer.size else {
            throw VesselError(.digestMismatch, "layer \(layer.digest) (\(layer.size) bytes) holds \(size) bytes hashing to \(digest): the layout was altered; nothing was imported")
        }
        guard "\(tarDigest)" == diffID else {
            throw VesselError(.digestMismatch, "layer \(layer.digest) unpacks to a tar hashing to \(tarDigest), but the image config's diff_id is \(diffID): the layout was altered; nothing was imported")
        }
        seen = seenHere
        return entries
    }
}
