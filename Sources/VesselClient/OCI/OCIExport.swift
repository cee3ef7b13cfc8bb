import Foundation
import VesselCore
import VesselSigning

#if canImport(Glibc)
import Glibc
#endif

/// What `vessel export --oci-layout` wrote.
public struct OCIExportResult: Codable, Sendable {
    public var layout: String
    public var tag: String
    public var manifestDigest: Digest
    public var model: ModelName
    public var version: Int
    public var digest: Digest
    public var layers: Int
    public var files: Int

    enum CodingKeys: String, CodingKey {
        case layout, tag, model, version, digest, layers, files
        case manifestDigest = "manifest_digest"
    }
}

/// Writes a pulled, verified version folder as an OCI image into an image layout: tar layers
/// holding the files under `/models/OWNER/NAME/`, an image config, a manifest annotated with the
/// model, version and version digest, and the layout's `index.json` entry for the tag.
/// The same folder gives the same bytes, so the same manifest digest (docs/oci.md).
public enum OCIExport {
    /// Files at least this large get a layer of their own (up to `maxOwnLayers` of them), so an
    /// unchanged shard is a layer a registry or a node already holds; the rest share one layer.
    static let ownLayerThreshold: UInt64 = 16 << 20
    static let maxOwnLayers = 63

    /// The files of each layer, in path order: the small ones first (when there are any), then
    /// one layer per large file.
    static func plan(_ files: [ModelFolder.File]) -> [[ModelFolder.File]] {
        var shared: [ModelFolder.File] = []
        var own: [[ModelFolder.File]] = []
        for file in files {
            if file.size >= ownLayerThreshold, own.count < maxOwnLayers { own.append([file]) } else { shared.append(file) }
        }
        return (shared.isEmpty ? [] : [shared]) + own
    }

    public static func write(folder: String, model: ModelName, version: Int, digest: Digest, layout: String, tag: String) throws(VesselError) -> OCIExportResult {
        try OCI.validateTag(tag)
        let listing = try ModelFolder(root: folder)
        try prepare(layout)
        let root = OCI.root(of: model)
        var layers: [OCI.Descriptor] = []
        var history: [OCI.ImageConfig.History] = []
        for group in plan(listing.files) {
            let (layerDigest, size) = try writeLayer(group, folder: folder, root: root, layout: layout)
            var annotations: [String: String]? = nil
            if group.count == 1, group[0].size >= ownLayerThreshold { annotations = [OCI.titleKey: group[0].path] }
            layers.append(OCI.Descriptor(mediaType: OCI.layerType, digest: "\(layerDigest)", size: size, annotations: annotations))
            history.append(OCI.ImageConfig.History(created_by: "vessel export", comment: group.count == 1 ? group[0].path : "\(group.count) files"))
        }
        let labels = [
            OCI.modelAnnotation: "\(model)", OCI.versionAnnotation: String(version), OCI.digestAnnotation: "\(digest)",
            OCI.titleKey: "\(model)", OCI.versionKey: String(version),
        ]
        let config = OCI.ImageConfig(
            architecture: OCI.hostArchitecture, os: "linux",
            config: OCI.ImageConfig.Config(Labels: labels, WorkingDir: "/" + root),
            rootfs: OCI.ImageConfig.RootFS(type: "layers", diff_ids: layers.map(\.digest)),
            history: history
        )
        let configDescriptor = try writeBlob(OCI.encode(config), mediaType: OCI.configType, layout: layout)
        let manifest = OCI.Manifest(schemaVersion: 2, mediaType: OCI.manifestType, config: configDescriptor, layers: layers, annotations: labels)
        var manifestDescriptor = try writeBlob(OCI.encode(manifest), mediaType: OCI.manifestType, layout: layout)
        manifestDescriptor.annotations = [OCI.refName: tag]
        try updateIndex(layout, with: manifestDescriptor, tag: tag)
        return OCIExportResult(layout: layout, tag: tag, manifestDigest: try Digest(manifestDescriptor.digest), model: model, version: version,
                               digest: digest, layers: layers.count, files: listing.files.count)
    }

    /// An absent or empty folder becomes a layout; an existing layout gets another tag.
    static func prepare(_ layout: String) throws(VesselError) {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: layout, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .invalidArgument("'\(layout)' exists and is not a folder") }
            let entries = (try? fm.contentsOfDirectory(atPath: layout)) ?? []
            if !entries.isEmpty {
                let layoutFile = try OCI.decode(OCI.LayoutFile.self, OCI.readFile("\(layout)/oci-layout"), what: "\(layout)/oci-layout")
                guard layoutFile.imageLayoutVersion.hasPrefix("1.") else {
                    throw .invalidArgument("'\(layout)' is an OCI layout of version \(layoutFile.imageLayoutVersion); only 1.x is supported")
                }
            }
        }
        do {
            try fm.createDirectory(atPath: "\(layout)/blobs/sha256", withIntermediateDirectories: true)
        } catch {
            throw .invalidArgument("cannot create '\(layout)/blobs/sha256': \(error.localizedDescription)")
        }
        if !fm.fileExists(atPath: "\(layout)/oci-layout") {
            try OCI.writeAtomically(OCI.encode(OCI.LayoutFile(imageLayoutVersion: OCI.layoutVersion)), to: "\(layout)/oci-layout")
        }
    }

    /// The tar entries of one layer: every folder on the way to each file (`models/`,
    /// `models/OWNER/`, …), then the files, all sorted by path bytes (a folder comes before
    /// what it holds since its path is their prefix).
    static func writeLayer(_ files: [ModelFolder.File], folder: String, root: String, layout: String) throws(VesselError) -> (Digest, UInt64) {
        enum Item { case directory, file(ModelFolder.File) }
        var items: [String: Item] = [:]
        var prefix = ""
        for part in root.split(separator: "/") {
            prefix += part + "/"
            items[prefix] = .directory
        }
        for file in files {
            let parts = file.path.split(separator: "/")
            var dir = root
            for part in parts.dropLast() {
                dir += part + "/"
                items[dir] = .directory
            }
            items[root + file.path] = .file(file)
        }
        let ordered = items.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let temporary = "\(layout)/blobs/sha256/.partial-\(UUID().uuidString)"
        let out = try HashingFileWriter(path: temporary)
        let tar = TarWriter(out: out)
        let digest: Digest
        do {
            for path in ordered {
                switch items[path]! {
                case .directory: try tar.directory(path)
                case .file(let file): try tar.file(path, size: file.size, from: "\(folder)/\(file.path)")
                }
            }
            try tar.end()
            digest = try out.finish()
        } catch {
            unlink(temporary)
            throw error
        }
        try place(temporary, as: digest, layout: layout)
        return (digest, out.size)
    }

    static func writeBlob(_ bytes: [UInt8], mediaType: String, layout: String) throws(VesselError) -> OCI.Descriptor {
        let digest = OCI.sha256(bytes)
        let path = "\(layout)/blobs/sha256/\(digest.hex)"
        if !FileManager.default.fileExists(atPath: path) { try OCI.writeAtomically(bytes, to: path) }
        return OCI.Descriptor(mediaType: mediaType, digest: "\(digest)", size: UInt64(bytes.count))
    }

    /// Renames a finished blob into place (a blob already there has the same bytes: its name
    /// is their digest).
    static func place(_ temporary: String, as digest: Digest, layout: String) throws(VesselError) {
        let path = "\(layout)/blobs/sha256/\(digest.hex)"
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .invalidArgument("cannot write '\(path)': \(String(cString: strerror(errno)))")
        }
    }

    /// `index.json` with the tag pointing at `manifest`; other tags are kept, entries sorted by tag.
    static func updateIndex(_ layout: String, with manifest: OCI.Descriptor, tag: String) throws(VesselError) {
        let path = "\(layout)/index.json"
        var entries: [OCI.Descriptor] = []
        if FileManager.default.fileExists(atPath: path) {
            entries = try OCI.decode(OCI.Index.self, OCI.readFile(path), what: path).manifests.filter { $0.annotations?[OCI.refName] != tag }
        }
        entries.append(manifest)
        entries.sort { ($0.annotations?[OCI.refName] ?? "").utf8.lexicographicallyPrecedes(($1.annotations?[OCI.refName] ?? "").utf8) }
        try OCI.writeAtomically(OCI.encode(OCI.Index(schemaVersion: 2, mediaType: OCI.indexType, manifests: entries)), to: path)
    }

    /// A Dockerfile that copies a folder `vessel pull` filled (and verified) into an image, with
    /// the version's identity as labels.
    public static func dockerfile(model: ModelName, version: Int, digest: Digest, base: String, context: String) -> String {
        let reference = "\(model):\(version)"
        return """
        # Generated by `vessel export \(reference) --dockerfile`.
        # Build it after pulling the version into ./\(context); the pull checks every file against
        # the version digest (and a signature with --verify-key) before it lands there:
        #   vessel pull \(reference) ./\(context)
        #   docker build -t \(model.name):\(version) .
        FROM \(base)
        COPY --chown=0:0 \(context)/ /\(OCI.root(of: model))
        LABEL \(OCI.modelAnnotation)="\(model)" \\
              \(OCI.versionAnnotation)="\(version)" \\
              \(OCI.digestAnnotation)="\(digest)" \\
              \(OCI.titleKey)="\(model)" \\
              \(OCI.versionKey)="\(version)"
        ENV VESSEL_MODEL_DIR=/\(OCI.root(of: model))

        """
    }
}
