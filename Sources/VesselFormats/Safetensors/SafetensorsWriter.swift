#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds safetensors files that the reference implementation (Python `safetensors`) reads.
///
/// Output: the 8-byte little-endian length, a compact JSON header (`__metadata__` first with
/// sorted keys, then tensors in the order they were added) padded with spaces to a multiple
/// of 8 bytes, then the tensors' bytes in the same order, offsets increasing from 0.
///
/// Tensors are given as byte arrays or as fill closures that produce bytes in chunks, so a
/// file of any size can be streamed to disk with one small buffer.
public struct SafetensorsWriter: Sendable {
    /// Where a tensor's bytes come from.
    public enum Source: Sendable {
        case bytes([UInt8])
        /// Called repeatedly with a chunk to fill completely and the chunk's offset within
        /// the tensor; chunks arrive in order and cover the tensor exactly once.
        case generated(@Sendable (_ chunk: UnsafeMutableRawBufferPointer, _ offsetInTensor: UInt64) -> Void)
    }

    /// One tensor to write.
    public struct Entry: Sendable {
        public let name: String
        public let dtype: SafetensorsDType
        public let shape: [UInt64]
        public let byteCount: UInt64
        public let source: Source
    }

    /// Size of the buffer used to stream generated tensors.
    public static let chunkSize = 1 << 20

    /// The `__metadata__` object to write, if any.
    public var metadata: [String: String]?
    public private(set) var entries: [Entry] = []
    private var names: Set<String> = []
    private var dataLength: UInt64 = 0

    public init(metadata: [String: String]? = nil) {
        self.metadata = metadata
    }

    /// Adds a tensor whose bytes are given.
    ///
    /// - Throws: `duplicateKey` for a repeated name or `__metadata__`; `sizeOverflow` /
    ///   `subByteMisaligned` for an impossible shape; `sizeMismatch` when `bytes.count` is
    ///   not the size the dtype and shape need.
    public mutating func addTensor(
        name: String, dtype: SafetensorsDType, shape: [UInt64], bytes: [UInt8]
    ) throws(SafetensorsError) {
        try add(name: name, dtype: dtype, shape: shape, actualBytes: UInt64(bytes.count), source: .bytes(bytes))
    }

    /// Adds a tensor whose bytes `fill` generates while the file is written.
    ///
    /// - Throws: as ``addTensor(name:dtype:shape:bytes:)``, except for `sizeMismatch`.
    public mutating func addTensor(
        name: String, dtype: SafetensorsDType, shape: [UInt64],
        fill: @escaping @Sendable (_ chunk: UnsafeMutableRawBufferPointer, _ offsetInTensor: UInt64) -> Void
    ) throws(SafetensorsError) {
        try add(name: name, dtype: dtype, shape: shape, actualBytes: nil, source: .generated(fill))
    }

    private mutating func add(
        name: String, dtype: SafetensorsDType, shape: [UInt64], actualBytes: UInt64?, source: Source
    ) throws(SafetensorsError) {
        guard name != SafetensorsHeaderValidator.metadataKey, !names.contains(name) else { throw .duplicateKey(name) }
        guard let elements = SafetensorsDType.elementCount(of: shape) else { throw .sizeOverflow(tensor: name) }
        let size: UInt64
        switch dtype.byteCount(forElements: elements) {
        case .success(let bytes): size = bytes
        case .failure(.overflow): throw .sizeOverflow(tensor: name)
        case .failure(.notWholeBytes): throw .subByteMisaligned(tensor: name)
        }
        if let actualBytes, actualBytes != size {
            throw .sizeMismatch(tensor: name, expected: size, actual: actualBytes)
        }
        let (end, overflow) = dataLength.addingReportingOverflow(size)
        guard !overflow else { throw .sizeOverflow(tensor: name) }
        names.insert(name)
        entries.append(Entry(name: name, dtype: dtype, shape: shape, byteCount: size, source: source))
        dataLength = end
    }

    /// The 8-byte prefix, the JSON header and its space padding.
    ///
    /// - Throws: `headerTooLarge` when the header would exceed the reader's cap.
    public func headerBytes() throws(SafetensorsError) -> [UInt8] {
        var json: [UInt8] = []
        json.reserveCapacity(64 + entries.count * 96)
        json.append(UInt8(ascii: "{"))
        var first = true
        func separator() {
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
        }
        if let metadata {
            separator()
            appendSafetensorsJSONString(SafetensorsHeaderValidator.metadataKey, to: &json)
            json.append(contentsOf: Array(":{".utf8))
            var firstPair = true
            for key in metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                if !firstPair { json.append(UInt8(ascii: ",")) }
                firstPair = false
                appendSafetensorsJSONString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                appendSafetensorsJSONString(metadata[key] ?? "", to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        var offset: UInt64 = 0
        for entry in entries {
            separator()
            appendSafetensorsJSONString(entry.name, to: &json)
            json.append(contentsOf: Array(":{\"dtype\":\"".utf8))
            json.append(contentsOf: Array(entry.dtype.rawValue.utf8))
            json.append(contentsOf: Array("\",\"shape\":[".utf8))
            json.append(contentsOf: Array(entry.shape.map(String.init).joined(separator: ",").utf8))
            json.append(contentsOf: Array("],\"data_offsets\":[\(offset),\(offset + entry.byteCount)]}".utf8))
            offset += entry.byteCount
        }
        json.append(UInt8(ascii: "}"))
        while json.count % 8 != 0 { json.append(0x20) }
        guard UInt64(json.count) <= SafetensorsLimits.maxHeaderBytes else { throw .headerTooLarge(declared: UInt64(json.count)) }
        var result: [UInt8] = []
        result.reserveCapacity(8 + json.count)
        var length = UInt64(json.count)
        for _ in 0..<8 {
            result.append(UInt8(truncatingIfNeeded: length))
            length >>= 8
        }
        result.append(contentsOf: json)
        return result
    }

    /// Size of the file this writer produces.
    public func fileSize() throws(SafetensorsError) -> UInt64 {
        UInt64(try headerBytes().count) + dataLength
    }

    /// The whole file in memory (for tests and small files).
    public func serialize() throws(SafetensorsError) -> [UInt8] {
        var output = try headerBytes()
        for entry in entries {
            try emit(entry) { (chunk) throws(SafetensorsError) in output.append(contentsOf: chunk) }
        }
        return output
    }

    /// Streams the file to `path`: writes a temporary file beside it, then renames it into
    /// place, so `path` never holds a partial file. Memory use is bounded by ``chunkSize``
    /// plus the byte arrays already given. Does not fsync.
    ///
    /// - Throws: ``SafetensorsError/ioError(operation:reason:)`` when creating, writing or
    ///   renaming fails (the temporary file is removed), or `headerTooLarge`.
    public func write(toPath path: String) throws(SafetensorsError) {
        let header = try headerBytes()
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .ioError(operation: "create the file", reason: SafetensorsPosixFile.lastError()) }
        do {
            try Self.writeAll(fd, header)
            for entry in entries {
                try emit(entry) { (chunk) throws(SafetensorsError) in try Self.writeAll(fd, chunk) }
            }
        } catch {
            safetensorsCloseDescriptor(fd)
            unlink(temporary)
            throw error
        }
        guard close(fd) == 0 else {
            let reason = SafetensorsPosixFile.lastError()
            unlink(temporary)
            throw .ioError(operation: "finish writing the file", reason: reason)
        }
        guard rename(temporary, path) == 0 else {
            let reason = SafetensorsPosixFile.lastError()
            unlink(temporary)
            throw .ioError(operation: "move the file into place", reason: reason)
        }
    }

    private func emit(
        _ entry: Entry, _ sink: (UnsafeRawBufferPointer) throws(SafetensorsError) -> Void
    ) throws(SafetensorsError) {
        switch entry.source {
        case .bytes(let bytes):
            try safetensorsWithBytes(of: bytes) { (raw) throws(SafetensorsError) in try sink(raw) }
        case .generated(let fill):
            let capacity = Int(min(UInt64(Self.chunkSize), entry.byteCount))
            guard capacity > 0 else { return }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
            defer { buffer.deallocate() }
            var offset: UInt64 = 0
            while offset < entry.byteCount {
                let count = Int(min(UInt64(capacity), entry.byteCount - offset))
                let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
                fill(chunk, offset)
                try sink(UnsafeRawBufferPointer(chunk))
                offset += UInt64(count)
            }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SafetensorsError) {
        var done = 0
        while done < bytes.count {
            let wrote = Glibc.write(fd, bytes.baseAddress.map { $0 + done }, bytes.count - done)
            if wrote < 0 {
                if errno == EINTR { continue }
                throw .ioError(operation: "write the file", reason: SafetensorsPosixFile.lastError())
            }
            done += wrote
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SafetensorsError) {
        try safetensorsWithBytes(of: bytes) { (raw) throws(SafetensorsError) in try writeAll(fd, raw) }
    }
}
