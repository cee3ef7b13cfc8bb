#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A view of one tensor inside a memory-mapped file: its header entry and its bytes.
///
/// `bytes` points into the mapping and is valid only inside the closure that received it;
/// never store it or let it escape.
public struct SafetensorsTensorView {
    public let info: SafetensorsTensorInfo
    /// The tensor's bytes, exactly `info.byteCount` long, read-only, not copied.
    public let bytes: UnsafeRawBufferPointer

    public var name: String { info.name }
    public var dtype: SafetensorsDType { info.dtype }
    public var shape: [UInt64] { info.shape }
}

/// A safetensors file mapped read-only into memory, with zero-copy access to each tensor.
///
/// Opening maps the whole file (`PROT_READ`, `MAP_PRIVATE`) and validates the header from
/// the mapping, which touches only the pages holding the header; tensor pages are read by
/// the kernel only when a caller looks at them. The mapping is released in `deinit`.
///
/// Sendable: the mapping is read-only and immutable for the object's lifetime, and all
/// stored properties are `let`, so sharing between tasks is safe (hence `@unchecked`).
///
/// Caveat: if another process truncates the file while it is mapped, touching the lost
/// pages raises SIGBUS. Vessel maps only content-addressed blobs, which are never modified.
public final class SafetensorsFile: @unchecked Sendable {
    /// The validated header.
    public let header: SafetensorsHeader
    private let base: UnsafeRawPointer
    private let mappedLength: Int

    /// Maps and validates the file at `path`.
    ///
    /// - Throws: ``SafetensorsError/ioError(operation:reason:)`` when the file cannot be
    ///   opened or mapped; ``SafetensorsError/fileTooShort(fileSize:)`` for files under 8
    ///   bytes (including empty ones, which cannot be mapped); otherwise the header's error.
    public init(path: String) throws(SafetensorsError) {
        let file = try SafetensorsPosixFile(path: path)
        defer { file.close() }
        guard file.size >= SafetensorsLimits.prefixBytes else { throw .fileTooShort(fileSize: file.size) }
        guard file.size <= UInt64(Int.max) else {
            throw .ioError(operation: "map the file", reason: "the file is too large to map")
        }
        let length = Int(file.size)
        guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, file.descriptor, 0),
            mapped != MAP_FAILED
        else {
            throw .ioError(operation: "map the file", reason: SafetensorsPosixFile.lastError())
        }
        let raw = UnsafeRawBufferPointer(start: mapped, count: length)
        do {
            self.header = try SafetensorsHeader.parse(raw, fileSize: file.size)
        } catch {
            munmap(mapped, length)
            throw error
        }
        self.base = UnsafeRawPointer(mapped)
        self.mappedLength = length
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
    }

    /// Tensors in offset order.
    public var tensors: [SafetensorsTensorInfo] { header.tensors }

    /// Calls `body` with a zero-copy view of the tensor named `name`; returns nil (without
    /// calling `body`) when there is no such tensor.
    public func withTensor<Result, Failure: Error>(
        named name: String, _ body: (SafetensorsTensorView) throws(Failure) -> Result
    ) throws(Failure) -> Result? {
        guard let info = header.tensor(named: name) else { return nil }
        return try body(view(of: info))
    }

    /// Calls `body` for every tensor, in offset order, with a zero-copy view of its bytes.
    public func forEachTensor<Failure: Error>(
        _ body: (SafetensorsTensorView) throws(Failure) -> Void
    ) throws(Failure) {
        for info in header.tensors { try body(view(of: info)) }
    }

    /// Calls `body` with the whole data buffer (everything after the header).
    public func withDataBuffer<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let start = Int(header.dataStart)
        return try body(UnsafeRawBufferPointer(start: base + start, count: mappedLength - start))
    }

    private func view(of info: SafetensorsTensorInfo) -> SafetensorsTensorView {
        // Validated: dataStart + dataEnd <= file size == mappedLength <= Int.max.
        let start = Int(header.dataStart) + Int(info.dataBegin)
        return SafetensorsTensorView(info: info, bytes: UnsafeRawBufferPointer(start: base + start, count: Int(info.byteCount)))
    }
}
