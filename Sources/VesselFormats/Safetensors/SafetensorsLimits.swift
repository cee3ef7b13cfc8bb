/// Named limits the safetensors parser, reader and writer enforce.
///
/// Every limit is checked before anything is allocated according to an untrusted length.
public enum SafetensorsLimits {
    /// Largest accepted JSON header, in bytes (the reference implementation's cap).
    public static let maxHeaderBytes: UInt64 = 100_000_000

    /// Size of the little-endian header-length prefix.
    public static let prefixBytes: UInt64 = 8

    /// Deepest nesting of JSON arrays and objects accepted in a header or shard index.
    /// A valid header needs depth 3 (`{ "t": { "shape": [ ] } }`); the slack is for
    /// tolerance of odd but valid JSON before type checks reject it.
    public static let maxJSONDepth = 64

    /// Largest accepted `model.safetensors.index.json`, in bytes.
    public static let maxShardIndexBytes: UInt64 = 100_000_000
}
