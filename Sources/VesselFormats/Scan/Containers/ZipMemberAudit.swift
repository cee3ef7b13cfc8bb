/// Judges every member of a zip archive from its central-directory entry and its local header,
/// whether or not a format reads the member's content: the verdict must not depend on how
/// much of a member the scanner happens to read.
///
/// - Declared sizes (ZIP64 extra fields included): a member that is not stored may declare
///   no more than `maxInflatedMemberBytes`, nor, past `ratioGraceBytes`, more than
///   `maxInflateRatio` times its compressed size (`decompression-bomb`, as `ScanInflater`
///   says while inflating); a stored member must declare equal sizes (`malformed`). Stored
///   members do not inflate, so the absolute limit does not apply to them (`torch.save`
///   stores tensors of any size).
/// - Flags: encrypted members and "compressed patched data" are `unsupported`.
/// - The local header (what Python's `zipfile` checks before reading a member, and a little
///   more): its signature, a name of the same bytes, the same compression method, the same
///   encryption flags and, for a non-ASCII name, the same UTF-8 flag; and its data must end
///   before the next member (`decompression-bomb`, an overlap).
struct ZipMemberAudit {
    let archive: ZipArchiveReader
    let limits: ScanLimits

    private static let localHeaderSize = 30
    private static let localSignature: UInt32 = 0x0403_4B50
    /// Flag bits that change how a member is read: encrypted (0), compressed patched data (5),
    /// strong encryption (6).
    private static let readingFlags: UInt16 = 0x0061
    /// Flag bit 11: the name is UTF-8 (else CP437).
    private static let utf8Flag: UInt16 = 0x0800

    /// What is wrong with `entry`: at most one problem with its sizes and one with its
    /// structure (flags or local header).
    func problems(_ entry: ZipArchiveEntry) -> [ScanProblem] {
        var problems: [ScanProblem] = []
        if let problem = Self.declaredSizeProblem(entry, limits: limits) { problems.append(problem) }
        do {
            try checkFlags(entry)
            try checkLocalHeader(entry)
        } catch {
            problems.append((error as? ScanProblem) ?? .malformed("unreadable zip local header"))
        }
        return problems
    }

    /// The limits `ScanInflater` enforces while inflating, applied to the declared sizes.
    static func declaredSizeProblem(_ entry: ZipArchiveEntry, limits: ScanLimits) -> ScanProblem? {
        let inflated = entry.uncompressedSize
        if entry.method == ZipArchiveEntry.methodStored {
            guard entry.compressedSize == inflated else {
                return .malformed("stored zip member with differing sizes (\(entry.compressedSize) and \(inflated) bytes)")
            }
            return nil
        }
        if inflated > limits.maxInflatedMemberBytes {
            return .bomb("declares \(inflated) bytes inflated, past the limit of \(limits.maxInflatedMemberBytes) bytes")
        }
        if inflated > limits.ratioGraceBytes {
            let (bound, overflow) = max(entry.compressedSize, 1).multipliedReportingOverflow(by: limits.maxInflateRatio)
            if !overflow && inflated > bound {
                return .bomb("declares an inflate ratio above \(limits.maxInflateRatio):1 (\(inflated) bytes from \(entry.compressedSize))")
            }
        }
        return nil
    }

    private func checkFlags(_ entry: ZipArchiveEntry) throws {
        if entry.flags & 0x0041 != 0 {
            throw ScanProblem(kind: .unsupported, detail: "encrypted zip member", offset: nil)
        }
        if entry.flags & 0x0020 != 0 {
            throw ScanProblem(kind: .unsupported, detail: "zip member with compressed patched data (flag bit 5)", offset: nil)
        }
    }

    private func checkLocalHeader(_ entry: ZipArchiveEntry) throws {
        // The directory's boundaries guarantee the header and name lie inside the file.
        guard let offset = Int(exactly: entry.localHeaderOffset) else {
            throw ScanProblem.malformed("zip local header offset out of range")
        }
        let header = try archive.file.readExactly(count: Self.localHeaderSize + entry.rawName.count, at: offset)
        guard ZipBytes.u32(header, 0) == Self.localSignature else {
            throw ScanProblem.malformed("bad zip local header signature", at: offset)
        }
        let nameLength = Int(ZipBytes.u16(header, 26))
        guard nameLength == entry.rawName.count, header[Self.localHeaderSize...].elementsEqual(entry.rawName) else {
            throw ScanProblem.malformed("zip local header names another member", at: offset)
        }
        let method = ZipBytes.u16(header, 8)
        guard method == entry.method else {
            throw ScanProblem.malformed("zip local header says compression method \(method), the directory \(entry.method)", at: offset)
        }
        // Readers decode the name by the local header's UTF-8 flag; for ASCII names it makes
        // no difference.
        let mask = Self.readingFlags | (entry.rawName.allSatisfy { $0 < 0x80 } ? 0 : Self.utf8Flag)
        let flags = ZipBytes.u16(header, 6)
        guard (flags ^ entry.flags) & mask == 0 else {
            throw ScanProblem.malformed("zip local header flags \(flags) contradict the directory's \(entry.flags)", at: offset)
        }
        let extraLength = UInt64(ZipBytes.u16(header, 28))
        let dataStart = UInt64(offset) + UInt64(Self.localHeaderSize) + UInt64(nameLength) + extraLength
        let (dataEnd, overflow) = dataStart.addingReportingOverflow(entry.compressedSize)
        guard !overflow, dataEnd <= entry.boundary else {
            throw ScanProblem.bomb("zip member data overlaps the next member or the central directory")
        }
    }
}
