/// A forward-only producer of bytes the `ScanByteReader` pulls from.
protocol ScanChunkSource {
    /// Appends up to `maxCount` bytes to `buffer` and returns how many; 0 means the end.
    mutating func read(into buffer: inout [UInt8], maxCount: Int) throws -> Int
    /// Discards up to `count` bytes and returns how many were discarded.
    mutating func skip(_ count: Int) throws -> Int
}

extension ScanChunkSource {
    mutating func skip(_ count: Int) throws -> Int {
        var scratch: [UInt8] = []
        var skipped = 0
        while skipped < count {
            scratch.removeAll(keepingCapacity: true)
            let got = try read(into: &scratch, maxCount: min(count - skipped, 1 << 20))
            if got == 0 { break }
            skipped += got
        }
        return skipped
    }
}

/// A source with nothing in it, for readers over an in-memory buffer.
struct ScanEmptySource: ScanChunkSource {
    mutating func read(into buffer: inout [UInt8], maxCount: Int) throws -> Int { 0 }
    mutating func skip(_ count: Int) throws -> Int { 0 }
}

/// The bytes `[start, end)` of a `ScanFile`, read with `pread`; skipping reads nothing.
struct ScanFileRangeSource: ScanChunkSource {
    let file: ScanFile
    private(set) var position: Int
    let end: Int

    init(file: ScanFile, start: Int, end: Int) {
        self.file = file
        self.position = min(start, end)
        self.end = end
    }

    mutating func read(into buffer: inout [UInt8], maxCount: Int) throws -> Int {
        let count = min(maxCount, end - position)
        guard count > 0 else { return 0 }
        let got = try file.read(into: &buffer, count: count, at: position)
        position += got
        return got
    }

    mutating func skip(_ count: Int) throws -> Int {
        let skipped = min(count, end - position)
        position += skipped
        return skipped
    }
}

/// Wraps a source and computes the CRC-32 of every byte it hands out.
struct ScanCRCSource<Inner: ScanChunkSource>: ScanChunkSource {
    var inner: Inner
    private(set) var crc: UInt32 = 0
    /// Bytes handed out so far.
    private(set) var count: UInt64 = 0

    init(_ inner: Inner) {
        self.inner = inner
    }

    mutating func read(into buffer: inout [UInt8], maxCount: Int) throws -> Int {
        let start = buffer.count
        let got = try inner.read(into: &buffer, maxCount: maxCount)
        count += UInt64(got)
        if got > 0 {
            crc = buffer.withUnsafeBytes { raw in
                ScanChecksum.crc32(crc, UnsafeRawBufferPointer(rebasing: raw[start..<(start + got)]))
            }
        }
        return got
    }
}
