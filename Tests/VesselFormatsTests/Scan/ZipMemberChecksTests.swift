import CVesselZlib
import Foundation
import Testing
@testable import VesselFormats

/// Every zip member is judged from the central directory and its local header, whether or not
/// the scanner reads its content: the verdict must not depend on which members a format reads.
@Suite("Zip member checks")
struct ZipMemberChecksTests {
    /// One member of a handcrafted archive: `payload` is written as it is (already compressed
    /// when `method` says so); the other fields are what the headers declare.
    struct Member {
        var name: [UInt8]
        var payload: [UInt8]
        var method: UInt16 = 0
        var flags: UInt16 = 0
        var crc: UInt32
        var uncompressedSize: UInt64
        /// Write the sizes as ZIP64 extra fields (0xFFFFFFFF in the fixed fields).
        var zip64 = false
        /// Changes the local header (30 bytes, then the name and extra field) before it is written.
        var corruptLocal: @Sendable (inout [UInt8]) -> Void = { _ in }

        static func stored(_ name: String, _ data: [UInt8]) -> Member {
            Member(name: ascii(name), payload: data, crc: ZipMemberChecksTests.crc(data), uncompressedSize: UInt64(data.count))
        }

        static func deflated(_ name: String, _ data: [UInt8]) -> Member {
            Member(name: ascii(name), payload: ZipMemberChecksTests.deflate(data), method: 8,
                   crc: ZipMemberChecksTests.crc(data), uncompressedSize: UInt64(data.count))
        }
    }

    static func crc(_ data: [UInt8]) -> UInt32 { data.withUnsafeBytes { ScanChecksum.crc32(0, $0) } }

    /// Raw deflate (no zlib header), as zip members hold it.
    static func deflate(_ data: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        #expect(deflateInit2_(&stream, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var input = data
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(data.count))))
        let produced = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = UInt32(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = UInt32(outBuffer.count)
                #expect(CVesselZlib.deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        return Array(output.prefix(produced))
    }

    static func archive(_ members: [Member]) -> [UInt8] {
        func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
        func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) } }
        func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(value >> (8 * $0) & 0xFF) } }
        var local: [UInt8] = []
        var central: [UInt8] = []
        for member in members {
            let offset = UInt32(local.count)
            let compressed = UInt64(member.payload.count)
            let (small, big) = member.zip64
                ? (le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF), le16(1) + le16(16) + le64(member.uncompressedSize) + le64(compressed))
                : (le32(UInt32(compressed)) + le32(UInt32(member.uncompressedSize)), [])
            let common = le16(Int(member.flags)) + le16(Int(member.method)) + le16(0) + le16(0) + le32(member.crc) + small
                + le16(member.name.count) + le16(big.count)
            var header = [0x50, 0x4B, 3, 4] + le16(member.zip64 ? 45 : 20) + common + member.name + big
            member.corruptLocal(&header)
            local += header + member.payload
            central += [0x50, 0x4B, 1, 2] + le16(member.zip64 ? 45 : 20) + le16(member.zip64 ? 45 : 20) + common
                + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + member.name + big
        }
        let end: [UInt8] = [0x50, 0x4B, 5, 6, 0, 0, 0, 0] + le16(members.count) + le16(members.count)
            + le32(UInt32(central.count)) + le32(UInt32(local.count)) + le16(0)
        return local + central + end
    }

    private func scan(_ name: String, _ members: [Member], limits: ScanLimits = .default) throws -> ScanFileResult {
        ScanTestSupport.scanner(limits: limits).scanFile(at: try ScanTestSupport.temporaryFile(name, Self.archive(members)))
    }

    /// An `.npy` of `count` float32 zeros.
    private static func npy(zeros count: Int) -> [UInt8] {
        var header = ascii("{'descr': '<f4', 'fortran_order': False, 'shape': (\(count),), }")
        while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        return NumpyHeader.magic + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header
            + [UInt8](repeating: 0, count: 4 * count)
    }

    private let torchRecord = Member.stored("archive/data.pkl", [0x80, 0x02, 0x4B, 0x01, 0x2E])

    private func bombs(_ result: ScanFileResult) -> [String?] {
        result.findings.filter { $0.kind == .decompressionBomb }.map(\.member)
    }

    // MARK: - Item 12: limits from the central directory

    /// The scanner reads an `.npy` member's header only; its zeros inflate ~1000:1 unread.
    @Test func npzArrayDataPastTheRatioIsABombThoughOnlyItsHeaderIsRead() throws {
        let small = try scan("a.npz", [.deflated("a.npy", Self.npy(zeros: 1000))])
        #expect(small.verdict == .safe, "\(small.findings)")
        let bomb = Member.deflated("a.npy", Self.npy(zeros: 1 << 20))
        #expect(bomb.uncompressedSize > 200 * UInt64(bomb.payload.count))
        let result = try scan("a.npz", [bomb])
        #expect(result.verdict == .unsafe)
        #expect(bombs(result) == ["a.npy"])
        #expect(result.findings.first { $0.kind == .decompressionBomb }?.severity == .high)
    }

    /// Tensor data of a PyTorch zip is never read: its declared sizes are still judged.
    @Test func unreadTorchDataPastTheInflateLimitIsABomb() throws {
        var limits = ScanLimits.default
        limits.maxInflatedMemberBytes = 64 << 10
        // Data that does not compress: the ratio is about 1, only the absolute limit applies.
        var state: UInt32 = 1
        let noise = (0..<(80 << 10)).map { _ -> UInt8 in
            state = state &* 1_103_515_245 &+ 12345
            return UInt8(truncatingIfNeeded: state >> 16)
        }
        let deflated = Member.deflated("archive/data/0", noise)
        #expect(deflated.payload.count > 64 << 10)
        let result = try scan("m.pt", [torchRecord, deflated], limits: limits)
        #expect(result.verdict == .unsafe && bombs(result) == ["archive/data/0"])
        // Stored members do not inflate: a large stored tensor (torch.save stores) is fine.
        let stored = try scan("m.pt", [torchRecord, .stored("archive/data/0", noise)], limits: limits)
        #expect(stored.verdict == .safe, "\(stored.findings)")
        // Below the limit, deflated is fine too.
        let within = try scan("m.pt", [torchRecord, .deflated("archive/data/0", Array(noise.prefix(32 << 10)))], limits: limits)
        #expect(within.verdict == .safe, "\(within.findings)")
    }

    /// The ratio is judged only past `ratioGraceBytes`, as while inflating.
    @Test func theRatioAppliesOnlyPastTheGrace() throws {
        let grace = ScanLimits.default.ratioGraceBytes
        var member = Member.deflated("notes.txt", [UInt8](repeating: 0x41, count: 100))
        member.uncompressedSize = grace
        #expect(try scan("a.npz", [.deflated("a.npy", Self.npy(zeros: 4)), member]).verdict == .safe)
        member.uncompressedSize = grace + 1
        let result = try scan("a.npz", [.deflated("a.npy", Self.npy(zeros: 4)), member])
        #expect(result.verdict == .unsafe && bombs(result) == ["notes.txt"])
    }

    /// Sizes in ZIP64 extra fields are the ones judged.
    @Test func zip64SizesAreJudged() throws {
        var member = Member.deflated("notes.txt", [UInt8](repeating: 0x41, count: 100))
        member.zip64 = true
        let intact = try scan("a.npz", [.deflated("a.npy", Self.npy(zeros: 4)), member])
        #expect(intact.verdict == .safe, "\(intact.findings)")
        member.uncompressedSize = 1 << 33
        let result = try scan("a.npz", [.deflated("a.npy", Self.npy(zeros: 4)), member])
        #expect(result.verdict == .unsafe && bombs(result) == ["notes.txt"])
    }

    // MARK: - Item 13: every local header against the central directory

    /// Local-header corruptions of a member the scanner never reads (offsets in the 30-byte
    /// header: 0 signature, 6 flags, 8 method, 26 name length, 30 the name).
    static let corruptions: [(String, @Sendable (inout [UInt8]) -> Void)] = [
        ("signature", { $0[0] = 0x51 }),
        ("name byte", { $0[30] ^= 0x20 }),
        ("name length", { $0[26] &-= 1 }),
        ("method", { $0[8] = 8 }),
        ("encryption flag", { $0[6] |= 1 }),
    ]

    @Test(arguments: 0..<corruptions.count)
    func corruptLocalHeaderOfAnUnreadMemberIsInvalid(_ index: Int) throws {
        let (label, corrupt) = Self.corruptions[index]
        var notes = Member.stored("notes.txt", ascii("hello"))
        notes.corruptLocal = corrupt
        let npz = try scan("a.npz", [.stored("a.npy", Self.npy(zeros: 2)), notes])
        #expect(npz.verdict == .invalid, "\(label): \(npz.findings)")
        #expect(npz.findings.map(\.member) == ["notes.txt"], "\(label)")
        #expect(npz.findings.map(\.kind) == [.malformed], "\(label)")
        var tensor = Member.stored("archive/data/0", [1, 2, 3, 4])
        tensor.corruptLocal = corrupt
        let torch = try scan("m.pt", [torchRecord, tensor])
        #expect(torch.verdict == .invalid && torch.findings.map(\.member) == ["archive/data/0"], "\(label): \(torch.findings)")
    }

    /// A non-ASCII name is decoded by the local header's UTF-8 flag: the flags must agree.
    @Test func utf8FlagMustAgreeForNonASCIINames() throws {
        var notes = Member(name: Array("n\u{00F6}tes.txt".utf8), payload: [1], flags: 0x800, crc: Self.crc([1]), uncompressedSize: 1)
        #expect(try scan("a.npz", [.stored("a.npy", Self.npy(zeros: 2)), notes]).verdict == .safe)
        notes.corruptLocal = { $0[7] = 0 }
        #expect(try scan("a.npz", [.stored("a.npy", Self.npy(zeros: 2)), notes]).verdict == .invalid)
        // ASCII names decode alike either way.
        var ascii = Member.stored("notes.txt", [1])
        ascii.flags = 0x800
        ascii.corruptLocal = { $0[7] = 0 }
        #expect(try scan("a.npz", [.stored("a.npy", Self.npy(zeros: 2)), ascii]).verdict == .safe)
    }

    /// An extra field that pushes the data past the next member is an overlap, as when read.
    @Test func localExtraFieldRunningIntoTheNextMemberIsABomb() throws {
        var notes = Member.stored("notes.txt", ascii("hello"))
        notes.corruptLocal = { $0[28] = 200 }
        let result = try scan("a.npz", [notes, .stored("a.npy", Self.npy(zeros: 2))])
        #expect(result.verdict == .unsafe && bombs(result) == ["notes.txt"])
    }

    @Test func encryptedOrStoredWithDifferingSizesUnreadMembersAreInvalid() throws {
        var encrypted = Member.stored("archive/data/0", [1, 2, 3, 4])
        encrypted.flags = 1
        let first = try scan("m.pt", [torchRecord, encrypted])
        #expect(first.verdict == .invalid && first.findings.map(\.kind) == [.unsupported], "\(first.findings)")
        var patched = Member.stored("archive/data/0", [1, 2, 3, 4])
        patched.flags = 0x20
        #expect(try scan("m.pt", [torchRecord, patched]).findings.map(\.kind) == [.unsupported])
        var stored = Member.stored("archive/data/0", [1, 2, 3, 4])
        stored.uncompressedSize = 3
        let second = try scan("m.pt", [torchRecord, stored])
        #expect(second.verdict == .invalid && second.findings.map(\.kind) == [.malformed], "\(second.findings)")
    }

    /// A zip no model loader reads is data: as for the archive itself, only unsafe problems
    /// of its members count.
    @Test func aPlainDataZipKeepsOnlyUnsafeMemberProblems() throws {
        var notes = Member.stored("notes.txt", ascii("hello"))
        notes.corruptLocal = { $0[0] = 0x51 }
        let readme = Member.stored("readme.txt", ascii("hi"))
        let corrupt = try scan("stuff.zip", [readme, notes])
        #expect(corrupt.verdict == .safe && corrupt.format == .data && corrupt.findings.isEmpty, "\(corrupt.findings)")
        let claimed = try scan("m.pt", [readme, notes])
        #expect(claimed.findings.map(\.kind) == [.malformed, .unrecognized], "\(claimed.findings)")
        let bomb = Member.deflated("zeros.bin", [UInt8](repeating: 0, count: 2 << 20))
        let bombed = try scan("stuff.zip", [bomb])
        #expect(bombed.verdict == .unsafe && bombed.format == .data && bombs(bombed) == ["zeros.bin"])
    }

    /// A member read and found wanting is reported once, not by the check and again by the read.
    @Test func aReadMemberWithABadLocalHeaderIsReportedOnce() throws {
        var record = torchRecord
        record.corruptLocal = { $0[0] = 0x51 }
        let result = try scan("m.pt", [record])
        #expect(result.verdict == .invalid && result.findings.count == 1, "\(result.findings)")
        // One 2 MiB string (skipped by the analyzer, so the inflater meets the ratio first).
        let long: [UInt8] = [0x80, 0x02, 0x58, 0, 0, 0x20, 0] + [UInt8](repeating: 0x61, count: 2 << 20) + [0x2E]
        let bomb = Member.deflated("archive/data.pkl", long)
        let bombed = try scan("m.pt", [bomb])
        #expect(bombed.verdict == .unsafe && bombs(bombed) == ["archive/data.pkl"], "\(bombed.findings)")
    }
}
