/// A buffered, forward-only byte reader with absolute offsets, over any `ScanChunkSource`.
///
/// Reads never allocate by an untrusted length: callers ask for at most a named limit and use
/// `skip` for anything larger.
struct ScanByteReader<Source: ScanChunkSource> {
    private var source: Source
    private var buffer: [UInt8]
    private var position = 0
    /// Absolute offset of `buffer[0]`.
    private var base: Int
    private var exhausted: Bool
    private let chunkSize: Int

    /// A reader over bytes already in memory.
    init(bytes: [UInt8], baseOffset: Int = 0) where Source == ScanEmptySource {
        source = ScanEmptySource()
        buffer = bytes
        base = baseOffset
        exhausted = true
        chunkSize = 0
    }

    /// A reader that first hands out `prefix` (bytes already read), then pulls from `source`.
    init(prefix: [UInt8], source: Source, chunkSize: Int = 1 << 18) {
        self.source = source
        buffer = prefix
        base = 0
        exhausted = false
        self.chunkSize = chunkSize
    }

    /// A reader that pulls `chunkSize` bytes at a time from `source`.
    init(source: Source, baseOffset: Int = 0, chunkSize: Int = 1 << 18) {
        self.source = source
        buffer = []
        base = baseOffset
        exhausted = false
        self.chunkSize = chunkSize
    }

    /// The absolute offset of the next byte.
    var offset: Int { base + position }

    /// The underlying source (for CRC checks after reading).
    var underlyingSource: Source { source }

    /// Makes at least `count` bytes available; false if the stream ends first.
    private mutating func fill(_ count: Int) throws -> Bool {
        if buffer.count - position >= count { return true }
        if exhausted { return false }
        if position > 0 {
            buffer.removeFirst(position)
            base += position
            position = 0
        }
        while buffer.count < count {
            let got = try source.read(into: &buffer, maxCount: max(chunkSize, count - buffer.count))
            if got == 0 {
                exhausted = true
                return false
            }
        }
        return true
    }

    /// True when no byte is left.
    mutating func atEnd() throws -> Bool {
        try !fill(1)
    }

    /// The next byte, or nil at the end.
    mutating func readByte() throws -> UInt8? {
        if position < buffer.count {
            let byte = buffer[position]
            position += 1
            return byte
        }
        guard try fill(1) else { return nil }
        let byte = buffer[position]
        position += 1
        return byte
    }

    /// The next byte, or a `truncated` problem naming `what`.
    mutating func requireByte(_ what: String) throws -> UInt8 {
        guard let byte = try readByte() else { throw ScanProblem.truncated("stream ends inside \(what)", at: offset) }
        return byte
    }

    /// Exactly `count` bytes (`count` must already be bounded by a named limit).
    mutating func readBytes(_ count: Int, _ what: String) throws -> ArraySlice<UInt8> {
        guard count >= 0 else { throw ScanProblem.malformed("negative length in \(what)", at: offset) }
        guard try fill(count) else { throw ScanProblem.truncated("stream ends inside \(what)", at: offset) }
        let slice = buffer[position..<(position + count)]
        position += count
        return slice
    }

    /// A little-endian unsigned integer of `width` bytes (1…8).
    mutating func readLittleEndian(_ width: Int, _ what: String) throws -> UInt64 {
        // Read in place: slicing the buffer would retain and release it for every length
        // and memo index of a pickle.
        guard try fill(width) else { throw ScanProblem.truncated("stream ends inside \(what)", at: offset) }
        var value: UInt64 = 0
        for shift in 0..<width { value |= UInt64(buffer[position + shift]) << (8 * UInt64(shift)) }
        position += width
        return value
    }

    /// Discards `count` bytes without holding them; `truncated` if the stream ends first.
    mutating func skip(_ count: UInt64, _ what: String) throws {
        let available = UInt64(buffer.count - position)
        if count <= available {
            position += Int(count)
            return
        }
        let startOffset = offset
        base += buffer.count
        buffer.removeAll(keepingCapacity: true)
        position = 0
        var remaining = count - available
        while remaining > 0 {
            let step = Int(min(remaining, UInt64(Int.max / 2)))
            let skipped = exhausted ? 0 : try source.skip(step)
            base += skipped
            if skipped == 0 {
                exhausted = true
                throw ScanProblem.truncated("stream ends inside \(what)", at: startOffset)
            }
            remaining -= UInt64(skipped)
        }
    }

    /// One `\n`-terminated line without its newline, at most `maxLength` bytes.
    mutating func readLine(maxLength: Int, _ what: String) throws -> ArraySlice<UInt8> {
        let start = offset
        var scanned = 0
        while true {
            if let index = buffer[(position + scanned)...].firstIndex(of: UInt8(ascii: "\n")) {
                guard index - position <= maxLength else {
                    throw ScanProblem.limit("\(what) line longer than \(maxLength) bytes", at: start)
                }
                let line = buffer[position..<index]
                position = index + 1
                return line
            }
            scanned = buffer.count - position
            if scanned > maxLength {
                throw ScanProblem.limit("\(what) line longer than \(maxLength) bytes", at: start)
            }
            guard try fill(scanned + 1) else {
                throw ScanProblem.truncated("stream ends inside \(what) line", at: start)
            }
        }
    }
}
