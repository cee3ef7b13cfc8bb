/// One validated tensor entry of a safetensors header.
///
/// Invariants (guaranteed by ``SafetensorsHeader`` parsing): `dataBegin <= dataEnd`, the
/// element count does not overflow, and `byteCount` equals `elementCount × dtype bits / 8`.
public struct SafetensorsTensorInfo: Sendable, Hashable {
    /// Tensor name as written in the header (any Unicode, not normalized).
    ///
    /// A parsed header does not make a String per tensor: its entries share one copy of the
    /// header's bytes and keep their name's range in it, and the name is made when asked
    /// for. Parsing a header of 512 tensors took ~30% less time that way; the price is that
    /// any entry keeps its header's bytes alive.
    public var name: String {
        if nameStart < 0 { return storedName }
        return nameBytes.withUnsafeBufferPointer { String(decoding: $0[Int(nameStart)..<Int(nameEnd)], as: UTF8.self) }
    }
    /// The name, for entries made with ``init(name:dtype:shape:dataBegin:dataEnd:elementCount:)``.
    private let storedName: String
    /// The header's bytes and the name's range in them (`nameStart` -1: `storedName` instead).
    private let nameBytes: [UInt8]
    private let nameStart: Int32
    private let nameEnd: Int32
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
        self.init(storedName: name, nameBytes: [], nameStart: -1, nameEnd: -1, dtype: dtype, shape: shape,
                  dataBegin: dataBegin, dataEnd: dataEnd, elementCount: elementCount)
    }

    /// An entry whose name is `bytes[nameRange]`, valid UTF-8. Header sizes are capped at
    /// ``SafetensorsLimits/maxHeaderBytes``, well inside `Int32`.
    init(
        bytes: [UInt8], nameRange: Range<Int>, dtype: SafetensorsDType, shape: [UInt64],
        dataBegin: UInt64, dataEnd: UInt64, elementCount: UInt64
    ) {
        self.init(storedName: "", nameBytes: bytes, nameStart: Int32(nameRange.lowerBound), nameEnd: Int32(nameRange.upperBound),
                  dtype: dtype, shape: shape, dataBegin: dataBegin, dataEnd: dataEnd, elementCount: elementCount)
    }

    private init(
        storedName: String, nameBytes: [UInt8], nameStart: Int32, nameEnd: Int32, dtype: SafetensorsDType, shape: [UInt64],
        dataBegin: UInt64, dataEnd: UInt64, elementCount: UInt64
    ) {
        self.storedName = storedName
        self.nameBytes = nameBytes
        self.nameStart = nameStart
        self.nameEnd = nameEnd
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

    /// Calls `body` with the name's UTF-8 bytes, without making a String.
    func withNameUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if nameStart < 0 {
            var name = storedName
            return name.withUTF8(body)
        }
        return nameBytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[Int(nameStart)..<Int(nameEnd)])) }
    }

    // By value, as if `name` were stored: where the name lives does not matter.
    public static func == (left: SafetensorsTensorInfo, right: SafetensorsTensorInfo) -> Bool {
        left.dtype == right.dtype && left.dataBegin == right.dataBegin && left.dataEnd == right.dataEnd
            && left.elementCount == right.elementCount && left.shape == right.shape && left.name == right.name
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(dtype)
        hasher.combine(shape)
        hasher.combine(dataBegin)
        hasher.combine(dataEnd)
        hasher.combine(elementCount)
    }
}
