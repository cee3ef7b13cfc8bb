import VesselCore

/// A sharded checkpoint's index, `model.safetensors.index.json`:
/// `{"metadata": {"total_size": N, …}, "weight_map": {tensor name: shard file name}}`.
///
/// Parsing is strict (UTF-8, strict JSON, no duplicate keys, no other top-level keys,
/// `total_size` a non-negative integer, shard names plain file names). Other keys inside
/// `metadata` (e.g. `total_parameters`) are allowed and ignored.
public struct SafetensorsShardIndex: Sendable, Equatable {
    /// `metadata.total_size`: the declared sum of all tensors' byte sizes.
    public let totalSize: UInt64
    /// Tensor name → shard file name.
    public let weightMap: [String: String]

    public init(totalSize: UInt64, weightMap: [String: String]) {
        self.totalSize = totalSize
        self.weightMap = weightMap
    }

    /// The distinct shard names, sorted by their UTF-8 bytes.
    public var shardNames: [String] {
        Set(weightMap.values).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Parses an index.
    ///
    /// - Throws: `indexTooLarge`, `invalidIndex`, `duplicateKey` or `invalidShardName`.
    public static func parse(_ bytes: [UInt8]) throws(SafetensorsShardIndexError) -> SafetensorsShardIndex {
        guard UInt64(bytes.count) <= SafetensorsLimits.maxShardIndexBytes else {
            throw .indexTooLarge(size: UInt64(bytes.count))
        }
        let root = try safetensorsWithBytes(of: bytes) { (raw) throws(SafetensorsShardIndexError) in try parseJSON(raw) }
        guard case .object(let members) = root else { throw .invalidIndex(reason: "the top level is not an object") }
        var totalSize: UInt64? = nil
        var weightMap: [String: String]? = nil
        for member in members {
            switch member.key {
            case "metadata":
                guard case .object(let fields) = member.value else {
                    throw .invalidIndex(reason: "metadata is not an object")
                }
                for field in fields where field.key == "total_size" {
                    guard case .number(let number) = field.value, let value = number.unsignedValue else {
                        throw .invalidIndex(reason: "total_size is not a non-negative integer")
                    }
                    totalSize = value
                }
            case "weight_map":
                guard case .object(let entries) = member.value else {
                    throw .invalidIndex(reason: "weight_map is not an object")
                }
                var map: [String: String] = [:]
                map.reserveCapacity(entries.count)
                for entry in entries {
                    guard case .string(let shard) = entry.value else {
                        throw .invalidIndex(reason: "the shard of \(SafetensorsError.quoted(entry.key)) is not a string")
                    }
                    guard isPlainFileName(shard) else { throw .invalidShardName(shard) }
                    map[entry.key] = shard
                }
                weightMap = map
            default:
                throw .invalidIndex(reason: "unexpected top-level key \(SafetensorsError.quoted(member.key))")
            }
        }
        guard let totalSize else { throw .invalidIndex(reason: "metadata.total_size is missing") }
        guard let weightMap else { throw .invalidIndex(reason: "weight_map is missing") }
        return SafetensorsShardIndex(totalSize: totalSize, weightMap: weightMap)
    }

    /// Reads and parses an index file (at most ``SafetensorsLimits/maxShardIndexBytes``).
    public static func readFile(atPath path: String) throws(SafetensorsShardIndexError) -> SafetensorsShardIndex {
        let bytes: [UInt8]
        do {
            let file = try SafetensorsPosixFile(path: path)
            defer { file.close() }
            guard file.size <= SafetensorsLimits.maxShardIndexBytes else { throw IndexTooLarge(size: file.size) }
            bytes = try file.read(at: 0, count: Int(file.size))
        } catch let error as IndexTooLarge {
            throw .indexTooLarge(size: error.size)
        } catch let error as SafetensorsError {
            if case .ioError(let operation, let reason) = error { throw .ioError(operation: operation, reason: reason) }
            throw .ioError(operation: "read the shard index", reason: error.message)
        } catch {
            throw .ioError(operation: "read the shard index", reason: "\(error)")
        }
        return try parse(bytes)
    }

    private struct IndexTooLarge: Error { let size: UInt64 }

    /// Checks the index against the parsed headers of its shards, keyed by shard file name.
    /// Pass exactly the shards the index names (extra entries are checked for unlisted
    /// tensors too). Checks, in order: every named shard exists; every listed tensor is in
    /// exactly the shard named; no shard holds an unlisted tensor; `total_size` equals the
    /// sum of the tensors' byte sizes.
    public func validate(shards: [String: SafetensorsHeader]) throws(SafetensorsShardIndexError) {
        let shardOrder = shards.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for shard in shardNames where shards[shard] == nil { throw .shardMissing(shard: shard) }
        var locations: [String: [String]] = [:]
        var actualTotal: UInt64 = 0
        for shard in shardOrder {
            guard let header = shards[shard] else { continue }
            for tensor in header.tensors {
                locations[tensor.name, default: []].append(shard)
                let (sum, overflow) = actualTotal.addingReportingOverflow(tensor.byteCount)
                actualTotal = overflow ? UInt64.max : sum
            }
        }
        for tensor in weightMap.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let expected = weightMap[tensor] ?? ""
            let found = locations[tensor] ?? []
            guard let first = found.first else { throw .tensorMissing(tensor: tensor, shard: expected) }
            guard found.count == 1 else { throw .tensorInMultipleShards(tensor: tensor, shards: found) }
            guard first == expected else { throw .tensorInWrongShard(tensor: tensor, expected: expected, actual: first) }
        }
        for shard in shardOrder {
            guard let header = shards[shard] else { continue }
            for tensor in header.tensors where weightMap[tensor.name] == nil {
                if let holders = locations[tensor.name], holders.count > 1 {
                    throw .tensorInMultipleShards(tensor: tensor.name, shards: holders)
                }
                throw .unlistedTensor(tensor: tensor.name, shard: shard)
            }
        }
        guard actualTotal == totalSize else { throw .totalSizeMismatch(declared: totalSize, actual: actualTotal) }
    }

    /// True for a plain file name: not empty, not `.` or `..`, no `/`, `\` or NUL.
    public static func isPlainFileName(_ name: String) -> Bool {
        guard !name.isEmpty, name != ".", name != ".." else { return false }
        return !name.utf8.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 == 0 }
    }

    private static func parseJSON(_ raw: UnsafeRawBufferPointer) throws(SafetensorsShardIndexError) -> StrictJSONValue {
        if let offset = SafetensorsUTF8.firstInvalidOffset(in: raw) {
            throw .invalidIndex(reason: "not UTF-8 at byte \(offset)")
        }
        var parser = StrictJSONReader(bytes: raw, options: .safetensors)
        let value: StrictJSONValue
        do {
            value = try parser.parseValue()
        } catch {
            switch error {
            case .syntax(let offset, let reason): throw .invalidIndex(reason: "not JSON at byte \(offset): \(reason)")
            case .tooDeep(let offset): throw .invalidIndex(reason: "nested too deeply at byte \(offset)")
            case .duplicateKey(let key, _): throw .duplicateKey(key)
            }
        }
        parser.skipWhitespace()
        guard parser.position == raw.count else {
            throw .invalidIndex(reason: "unexpected bytes after the JSON value at byte \(parser.position)")
        }
        return value
    }
}
