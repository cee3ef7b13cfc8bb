extension SafetensorsHeader {
    /// Reads and validates a header through a positional byte source (blob storage, HTTP
    /// Range requests, a file). Reads exactly twice: the 8-byte prefix, then the N header
    /// bytes — and only after N has been checked against the cap and `fileSize`, so an
    /// untrusted length never decides an allocation beyond ``SafetensorsLimits/maxHeaderBytes``.
    ///
    /// - Parameters:
    ///   - fileSize: the object's size, from a trusted source (storage metadata, `stat`).
    ///   - read: returns exactly `count` bytes at `offset`; any error it throws is reported
    ///     as ``SafetensorsError/ioError(operation:reason:)``.
    /// - Throws: the first ``SafetensorsError`` that applies.
    public static func read(
        fileSize: UInt64, read: (_ offset: UInt64, _ count: Int) throws -> [UInt8]
    ) throws(SafetensorsError) -> SafetensorsHeader {
        guard fileSize >= SafetensorsLimits.prefixBytes else { throw .fileTooShort(fileSize: fileSize) }
        let prefix = try exactly(8, from: { try read(0, 8) }, what: "read the header length")
        let length = try safetensorsWithBytes(of: prefix) { (raw) throws(SafetensorsError) in
            try checkedHeaderLength(prefix: raw, fileSize: fileSize)
        }
        let body = try exactly(Int(length), from: { try read(SafetensorsLimits.prefixBytes, Int(length)) }, what: "read the header")
        return try safetensorsWithBytes(of: body) { (raw) throws(SafetensorsError) in try parseBody(raw, fileSize: fileSize) }
    }

    /// The `async` form of ``read(fileSize:read:)``, for byte sources such as object storage
    /// or HTTP Range requests. Same reads, same checks, same errors.
    public static func read(
        fileSize: UInt64, read: (_ offset: UInt64, _ count: Int) async throws -> [UInt8]
    ) async throws(SafetensorsError) -> SafetensorsHeader {
        guard fileSize >= SafetensorsLimits.prefixBytes else { throw .fileTooShort(fileSize: fileSize) }
        let prefix: [UInt8]
        do { prefix = try await read(0, 8) } catch { throw .ioError(operation: "read the header length", reason: "\(error)") }
        try checkCount(prefix, 8, what: "read the header length")
        let length = try safetensorsWithBytes(of: prefix) { (raw) throws(SafetensorsError) in
            try checkedHeaderLength(prefix: raw, fileSize: fileSize)
        }
        let body: [UInt8]
        do { body = try await read(SafetensorsLimits.prefixBytes, Int(length)) } catch {
            throw .ioError(operation: "read the header", reason: "\(error)")
        }
        try checkCount(body, Int(length), what: "read the header")
        return try safetensorsWithBytes(of: body) { (raw) throws(SafetensorsError) in try parseBody(raw, fileSize: fileSize) }
    }

    /// Reads and validates the header of a local file, reading only the prefix and the
    /// header with `pread` (the data buffer is never touched).
    ///
    /// - Throws: ``SafetensorsError/ioError(operation:reason:)`` when the file cannot be
    ///   opened, is not a regular file, or a read fails; otherwise the first rule that fails.
    public static func readFile(atPath path: String) throws(SafetensorsError) -> SafetensorsHeader {
        let file = try SafetensorsPosixFile(path: path)
        defer { file.close() }
        let size = file.size
        return try read(fileSize: size) { offset, count in try file.read(at: offset, count: count) }
    }

    private static func exactly(
        _ count: Int, from body: () throws -> [UInt8], what: String
    ) throws(SafetensorsError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try body()
        } catch let error as SafetensorsError {
            throw error
        } catch {
            throw .ioError(operation: what, reason: "\(error)")
        }
        try checkCount(bytes, count, what: what)
        return bytes
    }

    private static func checkCount(_ bytes: [UInt8], _ count: Int, what: String) throws(SafetensorsError) {
        guard bytes.count == count else {
            throw .ioError(operation: what, reason: "expected \(count) bytes, got \(bytes.count)")
        }
    }
}
