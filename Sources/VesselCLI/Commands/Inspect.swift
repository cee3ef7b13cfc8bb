import ArgumentParser
import Foundation
import VesselClient
import VesselCore
import VesselFormats

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the tensors of safetensors files: a file, a folder (every shard and the index) or a remote version (headers only, over HTTP Range).",
        discussion: "Exit 0 when valid, 2 when invalid with the precise reason."
    )
    @Argument(help: "A local file or folder, or owner/name[@alias|:version].") var target: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let inspection: SafetensorsInspection
        if FileManager.default.fileExists(atPath: target) {
            inspection = SafetensorsInspector.inspect(path: target)
        } else {
            var result: SafetensorsInspection?
            try await Output.run(json: client.json) {
                let reference = try Reference(target)
                result = try await client.withClient { try await Self.remote(reference, api: $0) }
            }
            guard let result else { return }
            inspection = result
        }
        if client.json {
            Output.jsonData(try inspection.jsonData())
        } else {
            Output.lines(inspection.renderText())
        }
        if !inspection.valid { throw ExitCode(2) }
    }

    /// Reads every safetensors header of a version with Range requests (never the weights) and
    /// the small index files whole.
    static func remote(_ reference: Reference, api: APIClient) async throws -> SafetensorsInspection {
        let version = try await api.resolve(reference)
        var headers: [(name: String, header: SafetensorsHeader)] = []
        var indexes: [(name: String, index: SafetensorsShardIndex)] = []
        for entry in version.manifest ?? [] {
            if entry.path.hasSuffix(".safetensors") {
                do {
                    let header = try await SafetensorsHeader.read(fileSize: entry.size) { offset, count in
                        try await api.readBlobRange(reference.model, entry.digest, offset: offset, count: count)
                    }
                    headers.append((entry.path, header))
                } catch {
                    return SafetensorsInspection(error: .init(code: error.code, message: error.message, path: entry.path))
                }
            } else if entry.path.hasSuffix(".safetensors.index.json") {
                guard entry.size <= 64 << 20 else {
                    return SafetensorsInspection(error: .init(code: "index_too_large", message: "the index is larger than 64 MiB", path: entry.path))
                }
                let bytes = try await api.readBlobRange(reference.model, entry.digest, offset: 0, count: Int(entry.size))
                do {
                    indexes.append((entry.path, try SafetensorsShardIndex.parse(bytes)))
                } catch {
                    return SafetensorsInspection(error: .init(code: error.code, message: error.message, path: entry.path))
                }
            }
        }
        guard !headers.isEmpty else {
            return SafetensorsInspection(error: .init(code: "no_safetensors_files", message: "\(version.model):\(version.version) holds no .safetensors files", path: nil))
        }
        return SafetensorsInspector.inspect(headers: headers, indexes: indexes)
    }
}
