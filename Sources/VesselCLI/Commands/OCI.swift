import ArgumentParser
import Foundation
import VesselClient
import VesselCore
import VesselSigning

/// `vessel export REF --oci-layout DIR` / `--dockerfile`: a version baked into a container
/// image (docs/oci.md).
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bake a version into an OCI image layout, or print a Dockerfile that does.",
        discussion: "The files land under /models/OWNER/NAME/ in the image; the manifest and config carry the model, version and version digest. Exporting the same version twice gives the same manifest digest."
    )
    @Argument(help: "owner/name, owner/name@alias or owner/name:version") var reference: String
    @Option(name: .customLong("oci-layout"), help: ArgumentHelp("Write the image into this OCI image layout (created, or another tag added to it).", valueName: "dir"))
    var ociLayout: String?
    @Option(help: "The image's tag in the layout (default: v<version>).") var tag: String?
    @Flag(help: "Print a Dockerfile that copies a pulled, verified folder of the version into an image.") var dockerfile = false
    @Option(help: "The Dockerfile's base image.") var from = "scratch"
    @Option(help: "The folder (in the build context) the Dockerfile copies from.") var context = "model"
    @Option(help: "The local content-addressed cache (default: $XDG_CACHE_HOME/vessel or ~/.cache/vessel).") var cacheDir: String?
    @Flag(help: "Export a quarantined version anyway.") var allowQuarantined = false
    @Option(name: .customLong("verify-key"), help: ArgumentHelp("Require a signature by this PEM public key before downloading (repeatable).", valueName: "pub.pem"))
    var verifyKeys: [String] = []
    @OptionGroup var client: RetryingClientOptions

    func validate() throws {
        guard (ociLayout != nil) != dockerfile else { throw ValidationError("give exactly one of --oci-layout DIR and --dockerfile") }
        if dockerfile, tag != nil { throw ValidationError("--tag applies to --oci-layout") }
        guard !context.isEmpty, !context.contains(".."), !context.hasPrefix("/") else { throw ValidationError("--context must be a relative folder inside the build context") }
    }

    func run() async throws {
        try await Output.run(json: client.json) {
            let ref = try Reference(reference)
            if dockerfile {
                let version = try await client.withClient { api in try await api.resolve(ref) }
                let text = OCIExport.dockerfile(model: version.model, version: version.version, digest: version.digest, base: from, context: context)
                if client.json {
                    Output.json(DockerfileOutput(model: version.model, version: version.version, digest: version.digest, dockerfile: text))
                } else {
                    print(text, terminator: "")
                }
                return
            }
            guard let layout = ociLayout else { return }
            if let tag { try OCI.validateTag(tag) }
            let cache = try BlobCache(root: cacheDir ?? BlobCache.defaultRoot())
            // Pulled beside the layout (same file system: the cache's files are linked, not
            // copied, when the cache is there too), and removed afterwards.
            let parent = (layout as NSString).deletingLastPathComponent
            let scratch = "\(parent.isEmpty ? "." : parent)/.vessel-export-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let progress = TransferProgress()
            let pulled = try await client.withClient { api in
                let keys = try Pull.loadKeys(verifyKeys.isEmpty ? api.config.verifyKeys : verifyKeys)
                return try await ProgressDisplay.run(progress, enabled: !client.json) {
                    try await Puller(api: api, cache: cache, progress: progress).pull(ref, into: scratch, verifyCache: false, allowQuarantined: allowQuarantined, verifyKeys: keys)
                }
            }
            let result = try OCIExport.write(folder: scratch, model: pulled.model, version: pulled.version, digest: pulled.digest,
                                             layout: layout, tag: tag ?? "v\(pulled.version)")
            if client.json { Output.json(result) } else {
                Output.line("exported \(result.model):\(result.version) (\(result.digest)) to \(layout):\(result.tag): manifest \(result.manifestDigest), \(result.layers) layers, \(result.files) files under /\(OCI.root(of: result.model))")
            }
        }
    }

    struct DockerfileOutput: Encodable {
        var model: ModelName
        var version: Int
        var digest: Digest
        var dockerfile: String
    }
}

/// `vessel import --oci-layout DIR[:TAG] --model OWNER/NAME`: an image `vessel export` wrote
/// (or a copy of it) back into a version with the same digest.
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Push the files of an OCI image (from an image layout) as a new version.",
        discussion: "Every blob is checked against its digest while it is read; tar entries must be regular files or folders under /models/OWNER/NAME/ (the model the image is annotated with, else --model). An image annotated with a version digest must hash to it."
    )
    @Option(name: .customLong("oci-layout"), help: ArgumentHelp("The OCI image layout, and the tag when it holds several images.", valueName: "dir[:tag]"))
    var ociLayout: String
    @Option(help: "owner/name to push to (created on first push).") var model: String
    @Option(help: "Point this alias at the new version once it is ready.") var alias: String?
    @Option(help: "A description of the version.") var description: String?
    @Option(help: "Where the image's files are unpacked before the push (default: the system's temporary folder).") var workDir: String?
    @OptionGroup var client: RetryingClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let name = try ModelName(model)
            let aliasName = try alias.map { try AliasName($0) }
            let (layout, tag) = OCIImport.splitReference(ociLayout)
            let base = workDir ?? FileManager.default.temporaryDirectory.path
            let folder = "\(base)/vessel-import-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let image = try OCIImport.extract(layout: layout, tag: tag, model: name, into: folder)
            let progress = TransferProgress()
            let pushed = try await client.withClient { api in
                try await ProgressDisplay.run(progress, enabled: !client.json) {
                    try await Pusher(api: api, progress: progress).push(folder: folder, model: name, alias: aliasName, description: description)
                }
            }
            guard pushed.digest == image.digest else {
                throw VesselError(.digestMismatch, "the pushed version's digest \(pushed.digest) differs from the image's files \(image.digest)")
            }
            let result = ImportResult(push: pushed, source: image.source, manifestDigest: image.manifestDigest)
            if client.json { Output.json(result) } else {
                Output.line("imported \(layout)\(tag.map { ":\($0)" } ?? "") (manifest \(image.manifestDigest)) as \(pushed.model):\(pushed.version) (\(pushed.digest)): \(pushed.files) files, \(Output.bytes(pushed.bytesUploaded)) uploaded, state \(pushed.state.rawValue)")
            }
            if pushed.state == .quarantined {
                Output.diagnostic("version \(pushed.version) is quarantined; `vessel show \(pushed.model):\(pushed.version)` lists the findings")
                throw ExitCode(1)
            }
        }
    }

    struct ImportResult: Encodable {
        var push: PushResult
        var source: ModelName
        var manifestDigest: Digest

        enum CodingKeys: String, CodingKey {
            case source
            case manifestDigest = "manifest_digest"
        }

        func encode(to encoder: any Encoder) throws {
            try push.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(source, forKey: .source)
            try container.encode(manifestDigest, forKey: .manifestDigest)
        }
    }
}
