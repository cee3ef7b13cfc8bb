/// One validated tensor entry of a safetensors header.
///
/// Invariants (guaranteed by ``SafetensorsHeader`` parsing): `dataBegin <= dataEnd`, the
/// element count does not overflow, and `byteCount` equals `elementCount × dtype bits / 8`.
public struct SafetensorsTensorInfo: Sendable, Hashable {
    /// Tensor name as written in the header (any Unicode, not normalized).
    public let name: String
    public let dtype: SafetensorsDType
    /// Dimensions; empty for a rank-0 (scalar) tensor.
    public let shape: [UInt64]
    /// Start of the tensor's bytes, relative to the start of the data buffer.
    public let dataBegin: UInt64
    /// End (exclusive) of the tensor's bytes, relative to the start of the data buffer.
    public let dataEnd: UInt64
    /// Number of elements: the product of `shape` (1 for rank 0).
    public let elementCount: UInt64

    /// Creates an entry. Used by the parser after validation; callers building entries by
    /// hand must keep the invariants above.
    public init(
        name: String, dtype: SafetensorsDType, shape: [UInt64],
        dataBegin: UInt64, dataEnd: UInt64, elementCount: UInt64
    ) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataBegin = dataBegin
        self.dataEnd = dataEnd
        self.elementCount = elementCount
    }

    /// Size of the tensor's bytes.
    public var byteCount: UInt64 { dataEnd - dataBegin }

    /// Offsets as a pair, as they appear in the header.
    public var dataOffsets: (begin: UInt64, end: UInt64) { (dataBegin, dataEnd) }
}
