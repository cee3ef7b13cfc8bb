/// Why a `model.safetensors.index.json` was rejected or does not match its shards.
/// `code` is stable snake_case; `message` never contains file-system paths.
public enum SafetensorsShardIndexError: Error, Sendable, Equatable, Hashable {
    /// The index file is larger than ``SafetensorsLimits/maxShardIndexBytes``.
    case indexTooLarge(size: UInt64)
    /// Not UTF-8, not strict JSON, or not of the shape
    /// `{"metadata": {"total_size": N, …}, "weight_map": {tensor: shard}}`.
    case invalidIndex(reason: String)
    /// A key appears twice in one JSON object (e.g. a tensor listed twice in `weight_map`).
    case duplicateKey(String)
    /// A shard name that is not a plain file name (absolute, contains `/`, `\`, `..`).
    case invalidShardName(String)
    /// A shard named in the weight map does not exist.
    case shardMissing(shard: String)
    /// The weight map names a tensor that no shard holds.
    case tensorMissing(tensor: String, shard: String)
    /// The tensor is in a different shard from the one the weight map names.
    case tensorInWrongShard(tensor: String, expected: String, actual: String)
    /// The tensor is held by more than one shard.
    case tensorInMultipleShards(tensor: String, shards: [String])
    /// A shard holds a tensor the weight map does not list.
    case unlistedTensor(tensor: String, shard: String)
    /// `metadata.total_size` differs from the sum of the shards' tensor sizes.
    case totalSizeMismatch(declared: UInt64, actual: UInt64)
    /// Reading the index failed.
    case ioError(operation: String, reason: String)

    /// Stable snake_case identifier.
    public var code: String {
        switch self {
        case .indexTooLarge: "index_too_large"
        case .invalidIndex: "invalid_index"
        case .duplicateKey: "index_duplicate_key"
        case .invalidShardName: "invalid_shard_name"
        case .shardMissing: "shard_missing"
        case .tensorMissing: "tensor_missing"
        case .tensorInWrongShard: "tensor_in_wrong_shard"
        case .tensorInMultipleShards: "tensor_in_multiple_shards"
        case .unlistedTensor: "unlisted_tensor"
        case .totalSizeMismatch: "total_size_mismatch"
        case .ioError: "io_error"
        }
    }

    /// A sentence saying what is wrong, for people.
    public var message: String {
        let q = SafetensorsError.quoted
        switch self {
        case .indexTooLarge(let size):
            return "The shard index is \(size) bytes, above the limit of \(SafetensorsLimits.maxShardIndexBytes)."
        case .invalidIndex(let reason):
            return "The shard index is malformed: \(reason)."
        case .duplicateKey(let key):
            return "The key \(q(key)) appears more than once in one object of the shard index."
        case .invalidShardName(let name):
            return "The shard name \(q(name)) must be a plain file name (no '/', '\\', '..' or absolute path)."
        case .shardMissing(let shard):
            return "The shard \(q(shard)) named in the index does not exist."
        case .tensorMissing(let tensor, let shard):
            return "The index puts tensor \(q(tensor)) in \(q(shard)), but no shard holds it."
        case .tensorInWrongShard(let tensor, let expected, let actual):
            return "The index puts tensor \(q(tensor)) in \(q(expected)), but it is in \(q(actual))."
        case .tensorInMultipleShards(let tensor, let shards):
            return "Tensor \(q(tensor)) is held by several shards: \(shards.map(q).joined(separator: ", "))."
        case .unlistedTensor(let tensor, let shard):
            return "The shard \(q(shard)) holds tensor \(q(tensor)), which the index does not list."
        case .totalSizeMismatch(let declared, let actual):
            return "The index declares total_size \(declared), but the shards' tensors add up to \(actual) bytes."
        case .ioError(let operation, let reason):
            return "Could not \(operation): \(reason)."
        }
    }
}

extension SafetensorsShardIndexError: CustomStringConvertible {
    public var description: String { "\(code): \(message)" }
}
