import Foundation

/// Inspects a local safetensors file or checkpoint folder, reading only headers.
public enum SafetensorsInspector {
    /// Inspects `path`: a `.safetensors` file, or a folder whose `*.safetensors` files (not
    /// recursive) are all inspected and whose `*.safetensors.index.json` files, if any, are
    /// checked against the shards they name. Never throws: problems become an invalid report
    /// carrying the first error's code and message.
    public static func inspect(path: String) -> SafetensorsInspection {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return invalid("not_found", "Nothing exists at the given path.", nil)
        }
        if !isDirectory.boolValue {
            let name = (path as NSString).lastPathComponent
            switch inspectFile(path: path, name: name) {
            case .success(let (file, header)):
                return SafetensorsInspection(files: [file], summary: SafetensorsSummary(headers: [header]), shards: nil)
            case .failure(let failure):
                return SafetensorsInspection(error: failure)
            }
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        } catch {
            return invalid("io_error", "Could not list the folder.", nil)
        }
        let fileNames = names.filter { $0.hasSuffix(".safetensors") }
        let indexNames = names.filter { $0.hasSuffix(".safetensors.index.json") }
        guard !fileNames.isEmpty else {
            return invalid("no_safetensors_files", "The folder holds no .safetensors files.", nil)
        }
        var files: [SafetensorsInspection.File] = []
        var headers: [String: SafetensorsHeader] = [:]
        var ordered: [SafetensorsHeader] = []
        for name in fileNames {
            switch inspectFile(path: (path as NSString).appendingPathComponent(name), name: name) {
            case .success(let (file, header)):
                files.append(file)
                headers[name] = header
                ordered.append(header)
            case .failure(let failure):
                return SafetensorsInspection(error: failure)
            }
        }
        var status: SafetensorsInspection.ShardIndexStatus? = nil
        for indexName in indexNames {
            do throws(SafetensorsShardIndexError) {
                let index = try SafetensorsShardIndex.readFile(atPath: (path as NSString).appendingPathComponent(indexName))
                var named: [String: SafetensorsHeader] = [:]
                for shard in index.shardNames { named[shard] = headers[shard] }
                try index.validate(shards: named)
                if status == nil { status = .init(index: indexName, consistent: true) }
            } catch {
                return invalid(error.code, error.message, indexName)
            }
        }
        return SafetensorsInspection(files: files, summary: SafetensorsSummary(headers: ordered), shards: status)
    }

    private static func inspectFile(
        path: String, name: String
    ) -> Result<(SafetensorsInspection.File, SafetensorsHeader), SafetensorsInspection.Failure> {
        do throws(SafetensorsError) {
            let header = try SafetensorsHeader.readFile(atPath: path)
            let file = SafetensorsInspection.File(
                path: name, tensors: header.tensors.map(SafetensorsInspection.Tensor.init), metadata: header.metadata
            )
            return .success((file, header))
        } catch {
            return .failure(.init(code: error.code, message: error.message, path: name))
        }
    }

    private static func invalid(_ code: String, _ message: String, _ path: String?) -> SafetensorsInspection {
        SafetensorsInspection(error: .init(code: code, message: message, path: path))
    }
}
