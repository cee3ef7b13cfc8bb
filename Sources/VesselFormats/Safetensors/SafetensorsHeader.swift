import Synchronization

/// The validated header of one safetensors file.
///
/// Layout of a file (all offsets from the start of the file):
///
///     0        8                      8+N                                  fileSize
///     | N (LE) | JSON header, N bytes | data buffer: tensors tile it exactly |
///
/// A value of this type exists only if every rule passed: the header is UTF-8, strict JSON,
/// an object with no duplicate keys, every entry is a tensor with a known dtype and a
/// consistent size, and the tensors, sorted by offset, cover the data buffer exactly.
public struct SafetensorsHeader: Sendable, Hashable {
    /// Tensors sorted by `dataBegin` (then `dataEnd`, then name for zero-size ties).
    public let tensors: [SafetensorsTensorInfo]
    /// The `__metadata__` object, or nil when the header has none.
    public let metadata: [String: String]?
    /// N: the JSON header's length in bytes, including padding.
    public let headerLength: UInt64
    /// Size of the data buffer (file size − 8 − N), equal to the sum of tensor sizes.
    public let dataLength: UInt64
    /// Name → position in `tensors`, built by the first lookup: most readers (inspection,
    /// summaries, scans) walk the list and never look a name up.
    private let names = NameIndex()

    init(tensors: [SafetensorsTensorInfo], metadata: [String: String]?, headerLength: UInt64, dataLength: UInt64) {
        self.tensors = tensors
        self.metadata = metadata
        self.headerLength = headerLength
        self.dataLength = dataLength
    }

    public static func == (left: SafetensorsHeader, right: SafetensorsHeader) -> Bool {
        left.headerLength == right.headerLength && left.dataLength == right.dataLength
            && left.metadata == right.metadata && left.tensors == right.tensors
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(headerLength)
        hasher.combine(dataLength)
        hasher.combine(metadata)
        hasher.combine(tensors)
    }

    /// Offset of the data buffer from the start of the file: 8 + N.
    public var dataStart: UInt64 { SafetensorsLimits.prefixBytes + headerLength }

    /// Total file size this header describes.
    public var fileSize: UInt64 { dataStart + dataLength }

    /// The tensor with this exact name (no Unicode normalization), if any.
    public func tensor(named name: String) -> SafetensorsTensorInfo? {
        names.position(of: name, in: tensors).map { tensors[$0] }
    }

    /// The lazily built name index; one per parsed header, shared by its copies.
    private final class NameIndex: Sendable {
        private let index = Mutex<[String: Int]?>(nil)

        func position(of name: String, in tensors: [SafetensorsTensorInfo]) -> Int? {
            index.withLock { built in
                if let built { return built[name] }
                var made: [String: Int] = [:]
                made.reserveCapacity(tensors.count)
                for (position, tensor) in tensors.enumerated() { made[tensor.name] = position }
                built = made
                return made[name]
            }
        }
    }

    /// Parses and validates a header.
    ///
    /// - Parameters:
    ///   - bytes: the start of the file: at least the 8-byte prefix and the N header bytes it
    ///     declares. Anything after the header is ignored (a whole file may be passed).
    ///   - fileSize: the size of the whole file, used to check N and the tensor offsets.
    /// - Throws: the first ``SafetensorsError`` whose rule fails; `inputTruncated` when
    ///   `bytes` ends before the declared header does.
    public static func parse(_ bytes: UnsafeRawBufferPointer, fileSize: UInt64) throws(SafetensorsError) -> SafetensorsHeader {
        guard fileSize >= SafetensorsLimits.prefixBytes else { throw .fileTooShort(fileSize: fileSize) }
        guard bytes.count >= 8 else {
            throw .inputTruncated(needed: SafetensorsLimits.prefixBytes, available: UInt64(bytes.count))
        }
        let declared = try checkedHeaderLength(prefix: UnsafeRawBufferPointer(rebasing: bytes[0..<8]), fileSize: fileSize)
        let available = UInt64(bytes.count) - SafetensorsLimits.prefixBytes
        guard available >= declared else {
            throw .inputTruncated(needed: SafetensorsLimits.prefixBytes + declared, available: UInt64(bytes.count))
        }
        // declared <= maxHeaderBytes, so it fits in Int.
        let body = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + Int(declared))])
        return try parseBody(body, fileSize: fileSize)
    }

    /// Parses a header from any byte collection (same contract and errors as the
    /// `UnsafeRawBufferPointer` overload).
    public static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes, fileSize: UInt64) throws(SafetensorsError) -> SafetensorsHeader {
        let result: Result<SafetensorsHeader, SafetensorsError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(SafetensorsError) in try parse(UnsafeRawBufferPointer(buffer), fileSize: fileSize) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try safetensorsWithBytes(of: copy) { (buffer) throws(SafetensorsError) in try parse(buffer, fileSize: fileSize) }
    }

    /// Parses a whole file held in memory (`fileSize` is `bytes.count`).
    public static func parse(fileBytes bytes: [UInt8]) throws(SafetensorsError) -> SafetensorsHeader {
        try parse(bytes, fileSize: UInt64(bytes.count))
    }

    /// Reads N from the 8-byte prefix and checks it against the cap and the file size,
    /// without overflowing for any N (even 2^64 − 1).
    ///
    /// - Throws: `headerTooLarge` or `headerLengthExceedsFile`.
    public static func checkedHeaderLength(prefix: UnsafeRawBufferPointer, fileSize: UInt64) throws(SafetensorsError) -> UInt64 {
        guard fileSize >= SafetensorsLimits.prefixBytes else { throw .fileTooShort(fileSize: fileSize) }
        guard prefix.count >= 8 else {
            throw .inputTruncated(needed: SafetensorsLimits.prefixBytes, available: UInt64(prefix.count))
        }
        var declared: UInt64 = 0
        for index in (0..<8).reversed() { declared = declared << 8 | UInt64(prefix[index]) }
        guard declared <= SafetensorsLimits.maxHeaderBytes else { throw .headerTooLarge(declared: declared) }
        guard declared <= fileSize - SafetensorsLimits.prefixBytes else {
            throw .headerLengthExceedsFile(declared: declared, fileSize: fileSize)
        }
        return declared
    }

    /// Validates the N header bytes (without the prefix) of a file of `fileSize` bytes.
    /// The caller has already checked N with ``checkedHeaderLength(prefix:fileSize:)``.
    static func parseBody(_ body: UnsafeRawBufferPointer, fileSize: UInt64) throws(SafetensorsError) -> SafetensorsHeader {
        let headerLength = UInt64(body.count)
        let (afterPrefix, o1) = fileSize.subtractingReportingOverflow(SafetensorsLimits.prefixBytes)
        let (dataLength, o2) = afterPrefix.subtractingReportingOverflow(headerLength)
        guard !o1, !o2 else { throw .headerLengthExceedsFile(declared: headerLength, fileSize: fileSize) }
        if let header = SafetensorsHeaderFastPath.parse(body, headerLength: headerLength, dataLength: dataLength) {
            return header
        }
        return try parseBodyStrict(body, headerLength: headerLength, dataLength: dataLength)
    }

    /// The strict two-stage parser alone: the authority for every error (and the reference
    /// the fast path is tested against).
    static func parseBodyStrict(
        _ body: UnsafeRawBufferPointer, headerLength: UInt64, dataLength: UInt64
    ) throws(SafetensorsError) -> SafetensorsHeader {
        let root = try SafetensorsHeaderSyntax.parseRoot(body)
        return try SafetensorsHeaderValidator.validate(root: root, headerLength: headerLength, dataLength: dataLength)
    }
}
