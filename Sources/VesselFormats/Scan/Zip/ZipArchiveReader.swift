/// A strict reader of a zip archive's central directory (with ZIP64) and of single members.
///
/// It reads only the end records, the central directory and the members asked for: a 2 GiB
/// PyTorch checkpoint costs a few small reads. It rejects archives with data prepended,
/// entries past the directory, overlapping members (a bomb technique), duplicate names
/// (readers disagree on which wins) and local headers that contradict the directory.
struct ZipArchiveReader {
    let file: ScanFile
    let entries: [ZipArchiveEntry]
    let centralDirectoryOffset: UInt64

    private static let endRecordSize = 22
    private static let maxCommentLength = 0xFFFF
    private static let localHeaderSize = 30
    private static let centralHeaderSize = 46
    /// Largest central directory read into memory.
    static let maxDirectoryBytes: UInt64 = 256 << 20

    /// Parses the end-of-central-directory records and the central directory.
    /// - Throws: `ScanProblem` (`truncated`, `malformed`, `limit-exceeded`, `decompression-bomb`).
    init(file: ScanFile, limits: ScanLimits) throws {
        self.file = file
        let size = file.size
        guard size >= Self.endRecordSize else { throw ScanProblem.truncated("zip shorter than its end record", at: 0) }
        let tailLength = min(size, Self.endRecordSize + Self.maxCommentLength)
        let tailStart = size - tailLength
        let tail = try file.readExactly(count: tailLength, at: tailStart)
        var endIndex: Int?
        var index = tail.count - Self.endRecordSize
        while index >= 0 {
            if tail[index] == 0x50, tail[index + 1] == 0x4B, tail[index + 2] == 5, tail[index + 3] == 6,
               Int(ZipBytes.u16(tail, index + 20)) == tail.count - index - Self.endRecordSize {
                endIndex = index
                break
            }
            index -= 1
        }
        guard let end = endIndex else {
            throw ScanProblem.truncated("zip end-of-central-directory record not found (truncated archive?)")
        }
        let endOffset = tailStart + end
        var entryCount = UInt64(ZipBytes.u16(tail, end + 10))
        var directorySize = UInt64(ZipBytes.u32(tail, end + 12))
        var directoryOffset = UInt64(ZipBytes.u32(tail, end + 16))
        var directoryEnd = UInt64(endOffset)
        if ZipBytes.u16(tail, end + 4) != 0 || ZipBytes.u16(tail, end + 6) != 0 {
            throw ScanProblem(kind: .unsupported, detail: "multi-disk zip archives are not supported", offset: endOffset)
        }
        // A ZIP64 locator right before the end record takes precedence: writers (Python's
        // zipfile among them) add ZIP64 records whenever any field passes 2^31, even when the
        // classic record's fields did not saturate.
        let needsZip64 = entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF
        let locatorOffset = endOffset - 20
        let locator = locatorOffset >= 0 ? try file.readExactly(count: 20, at: locatorOffset) : []
        if locator.count == 20, ZipBytes.u32(locator, 0) == 0x0706_4B50 {
            let recordOffset = ZipBytes.u64(locator, 8)
            guard locatorOffset >= 56, recordOffset <= UInt64(locatorOffset - 56) else {
                throw ScanProblem.malformed("ZIP64 end record out of place", at: locatorOffset)
            }
            let record = try file.readExactly(count: 56, at: Int(recordOffset))
            guard ZipBytes.u32(record, 0) == 0x0606_4B50 else {
                throw ScanProblem.malformed("ZIP64 end record missing", at: Int(recordOffset))
            }
            entryCount = ZipBytes.u64(record, 32)
            directorySize = ZipBytes.u64(record, 40)
            directoryOffset = ZipBytes.u64(record, 48)
            directoryEnd = recordOffset
        } else if needsZip64 {
            throw ScanProblem.malformed("ZIP64 locator missing", at: endOffset)
        }
        guard entryCount <= UInt64(limits.maxZipEntries) else {
            throw ScanProblem.limit("zip with more than \(limits.maxZipEntries) members")
        }
        let (computedEnd, overflow) = directoryOffset.addingReportingOverflow(directorySize)
        guard directorySize <= Self.maxDirectoryBytes else {
            throw ScanProblem.limit("zip central directory larger than \(Self.maxDirectoryBytes) bytes")
        }
        guard !overflow, computedEnd == directoryEnd else {
            throw ScanProblem.malformed("zip central directory is not where the end record says (data prepended or truncated)")
        }
        centralDirectoryOffset = directoryOffset
        entries = try Self.parseDirectory(
            try file.readExactly(count: Int(directorySize), at: Int(directoryOffset)),
            count: Int(entryCount), directoryOffset: directoryOffset)
    }

    private static func parseDirectory(_ bytes: [UInt8], count: Int, directoryOffset: UInt64) throws -> [ZipArchiveEntry] {
        var entries: [ZipArchiveEntry] = []
        entries.reserveCapacity(min(count, 1 << 16))
        var position = 0
        for _ in 0..<count {
            guard position + centralHeaderSize <= bytes.count else {
                throw ScanProblem.truncated("zip central directory ends early", at: Int(directoryOffset) + position)
            }
            guard ZipBytes.u32(bytes, position) == 0x0201_4B50 else {
                throw ScanProblem.malformed("bad zip central header signature", at: Int(directoryOffset) + position)
            }
            let nameLength = Int(ZipBytes.u16(bytes, position + 28))
            let extraLength = Int(ZipBytes.u16(bytes, position + 30))
            let commentLength = Int(ZipBytes.u16(bytes, position + 32))
            let next = position + centralHeaderSize + nameLength + extraLength + commentLength
            guard next <= bytes.count else {
                throw ScanProblem.truncated("zip central directory ends early", at: Int(directoryOffset) + position)
            }
            let nameStart = position + centralHeaderSize
            let rawName = Array(bytes[nameStart..<(nameStart + nameLength)])
            var entry = ZipArchiveEntry(
                rawName: rawName, name: String(decoding: rawName, as: UTF8.self),
                flags: ZipBytes.u16(bytes, position + 8), method: ZipBytes.u16(bytes, position + 10),
                crc32: ZipBytes.u32(bytes, position + 16),
                compressedSize: UInt64(ZipBytes.u32(bytes, position + 20)),
                uncompressedSize: UInt64(ZipBytes.u32(bytes, position + 24)),
                localHeaderOffset: UInt64(ZipBytes.u32(bytes, position + 42)))
            try applyZip64(&entry, extra: bytes[(nameStart + nameLength)..<(nameStart + nameLength + extraLength)],
                           diskNumber: ZipBytes.u16(bytes, position + 34), at: Int(directoryOffset) + position)
            entries.append(entry)
            position = next
        }
        try assignBoundaries(&entries, directoryOffset: directoryOffset)
        return entries
    }

    private static func applyZip64(_ entry: inout ZipArchiveEntry, extra: ArraySlice<UInt8>, diskNumber: UInt16, at: Int) throws {
        let needsUncompressed = entry.uncompressedSize == 0xFFFF_FFFF
        let needsCompressed = entry.compressedSize == 0xFFFF_FFFF
        let needsOffset = entry.localHeaderOffset == 0xFFFF_FFFF
        guard needsUncompressed || needsCompressed || needsOffset else { return }
        let bytes = Array(extra)
        var position = 0
        while position + 4 <= bytes.count {
            let id = ZipBytes.u16(bytes, position)
            let length = Int(ZipBytes.u16(bytes, position + 2))
            let body = position + 4
            guard body + length <= bytes.count else { break }
            if id == 1 {
                var field = body
                func next() throws -> UInt64 {
                    guard field + 8 <= body + length else { throw ScanProblem.malformed("short ZIP64 extra field", at: at) }
                    defer { field += 8 }
                    return ZipBytes.u64(bytes, field)
                }
                if needsUncompressed { entry.uncompressedSize = try next() }
                if needsCompressed { entry.compressedSize = try next() }
                if needsOffset { entry.localHeaderOffset = try next() }
                return
            }
            position = body + length
        }
        throw ScanProblem.malformed("zip member needs a ZIP64 extra field it does not have", at: at)
    }

    /// Sorts members by position and records, for each, where the next one starts; members
    /// that overlap (the basis of non-recursive zip bombs) are refused.
    private static func assignBoundaries(_ entries: inout [ZipArchiveEntry], directoryOffset: UInt64) throws {
        let order = entries.indices.sorted { entries[$0].localHeaderOffset < entries[$1].localHeaderOffset }
        for (rank, index) in order.enumerated() {
            let boundary = rank + 1 < order.count ? entries[order[rank + 1]].localHeaderOffset : directoryOffset
            let entry = entries[index]
            let minimumLength = UInt64(localHeaderSize) + UInt64(entry.rawName.count)
            let (withHeader, overflowA) = entry.localHeaderOffset.addingReportingOverflow(minimumLength)
            let (minimumEnd, overflowB) = withHeader.addingReportingOverflow(entry.compressedSize)
            guard !overflowA, !overflowB, minimumEnd <= boundary else {
                throw ScanProblem.bomb("zip member \(entry.name) overlaps the next member or the central directory")
            }
            entries[index].boundary = boundary
        }
        // Compared by decoded name: two raw names that decode alike are ambiguous too.
        var seen = Set<String>()
        seen.reserveCapacity(entries.count)
        for entry in entries where !seen.insert(entry.name).inserted {
            throw ScanProblem.malformed("zip member \(entry.name) appears twice")
        }
    }

    /// A reader over one member's (inflated) bytes. After reading to the end, call `verify`.
    /// - Throws: `ScanProblem` for encrypted members, unknown methods, bad local headers.
    func openMember(_ entry: ZipArchiveEntry, limits: ScanLimits) throws -> ScanByteReader<ScanCRCSource<ScanMemberSource>> {
        guard !entry.isEncrypted else {
            throw ScanProblem(kind: .unsupported, detail: "encrypted zip member", offset: nil)
        }
        let headerOffset = Int(entry.localHeaderOffset)
        let header = try file.readExactly(count: Self.localHeaderSize, at: headerOffset)
        guard ZipBytes.u32(header, 0) == 0x0403_4B50 else {
            throw ScanProblem.malformed("bad zip local header signature", at: headerOffset)
        }
        let nameLength = Int(ZipBytes.u16(header, 26))
        let extraLength = Int(ZipBytes.u16(header, 28))
        let localName = try file.readExactly(count: nameLength, at: headerOffset + Self.localHeaderSize)
        guard localName == entry.rawName else {
            throw ScanProblem.malformed("zip local header names \(String(decoding: localName, as: UTF8.self)) instead")
        }
        let dataStart = UInt64(headerOffset + Self.localHeaderSize + nameLength + extraLength)
        let (dataEnd, overflow) = dataStart.addingReportingOverflow(entry.compressedSize)
        guard !overflow, dataEnd <= entry.boundary else {
            throw ScanProblem.bomb("zip member data overlaps the next member or the central directory")
        }
        let range = ScanFileRangeSource(file: file, start: Int(dataStart), end: Int(dataEnd))
        let source: ScanMemberSource
        switch entry.method {
        case ZipArchiveEntry.methodStored:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw ScanProblem.malformed("stored zip member with differing sizes")
            }
            source = ScanMemberSource(stored: range)
        case ZipArchiveEntry.methodDeflated:
            let inflateLimits = ScanInflater<ScanFileRangeSource>.Limits(
                maxOutput: limits.maxInflatedMemberBytes, maxRatio: limits.maxInflateRatio,
                grace: limits.ratioGraceBytes, declaredSize: entry.uncompressedSize)
            source = ScanMemberSource(deflated: try ScanInflater(inner: range, wrapping: .rawDeflate, limits: inflateLimits))
        default:
            throw ScanProblem(kind: .unsupportedCompression, detail: "zip compression method \(entry.method)", offset: nil)
        }
        return ScanByteReader(source: ScanCRCSource(source), chunkSize: 1 << 16)
    }

    /// Checks size and CRC-32 once `reader` has been read to its end.
    func verify(_ reader: ScanByteReader<ScanCRCSource<ScanMemberSource>>, _ entry: ZipArchiveEntry) throws {
        let source = reader.underlyingSource
        guard source.count == entry.uncompressedSize else {
            throw ScanProblem.malformed("zip member holds \(source.count) bytes, the directory says \(entry.uncompressedSize)")
        }
        guard source.crc == entry.crc32 else {
            throw ScanProblem.malformed("zip member CRC-32 mismatch")
        }
    }
}

/// Little-endian field access for zip structures (callers bounds-check first).
enum ZipBytes {
    static func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 {
        UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(u16(bytes, at)) | UInt32(u16(bytes, at + 2)) << 16
    }

    static func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        UInt64(u32(bytes, at)) | UInt64(u32(bytes, at + 4)) << 32
    }
}
