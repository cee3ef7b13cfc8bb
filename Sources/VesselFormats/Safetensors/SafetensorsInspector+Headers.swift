extension SafetensorsInspector {
    /// Builds an inspection from headers and shard indexes that were read elsewhere (from a
    /// registry's blobs, or over HTTP Range requests). Names are `/`-separated relative paths;
    /// an index's shard names are resolved against the index's own folder.
    public static func inspect(
        headers: [(name: String, header: SafetensorsHeader)],
        indexes: [(name: String, index: SafetensorsShardIndex)]
    ) -> SafetensorsInspection {
        var byName: [String: SafetensorsHeader] = [:]
        for (name, header) in headers { byName[name] = header }
        var status: SafetensorsInspection.ShardIndexStatus? = nil
        for (name, index) in indexes {
            let folder = name.split(separator: "/").dropLast().joined(separator: "/")
            var named: [String: SafetensorsHeader] = [:]
            for shard in index.shardNames {
                named[shard] = byName[folder.isEmpty ? shard : "\(folder)/\(shard)"]
            }
            do throws(SafetensorsShardIndexError) {
                try index.validate(shards: named)
            } catch {
                return SafetensorsInspection(error: .init(code: error.code, message: error.message, path: name))
            }
            if status == nil { status = .init(index: name, consistent: true) }
        }
        let files = headers.map { name, header in
            SafetensorsInspection.File(path: name, tensors: header.tensors.map(SafetensorsInspection.Tensor.init), metadata: header.metadata)
        }
        return SafetensorsInspection(files: files, summary: SafetensorsSummary(headers: headers.map(\.header)), shards: status)
    }
}
