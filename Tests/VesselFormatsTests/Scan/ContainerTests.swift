import Foundation
import Testing
@testable import VesselFormats

/// Zip, NumPy and format-detection edge cases built from handcrafted bytes.
@Suite("Containers")
struct ContainerTests {
    /// A minimal stored zip with the given members (names taken as raw bytes).
    static func zip(_ members: [([UInt8], [UInt8])]) -> [UInt8] {
        var local: [UInt8] = []
        var central: [UInt8] = []
        func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
        func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) } }
        for (name, data) in members {
            let crc = data.withUnsafeBytes { ScanChecksum.crc32(0, $0) }
            let offset = UInt32(local.count)
            local += [0x50, 0x4B, 3, 4] + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
                + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(name.count) + le16(0) + name + data
            central += [0x50, 0x4B, 1, 2] + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
                + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(name.count) + le16(0) + le16(0)
                + le16(0) + le16(0) + le32(0) + le32(offset) + name
        }
        let end: [UInt8] = [0x50, 0x4B, 5, 6, 0, 0, 0, 0] + le16(members.count) + le16(members.count)
            + le32(UInt32(central.count)) + le32(UInt32(local.count)) + le16(0)
        return local + central + end
    }

    private func scan(_ name: String, _ bytes: [UInt8]) throws -> ScanFileResult {
        ScanTestSupport.scanner().scanFile(at: try ScanTestSupport.temporaryFile(name, bytes))
    }

    private let benignPickle: [UInt8] = [0x80, 0x02, 0x4B, 0x01, 0x2E]

    @Test func benignTorchZipIsSafe() throws {
        let result = try scan("m.pt", Self.zip([(ascii("archive/data.pkl"), benignPickle), (ascii("archive/data/0"), [1, 2, 3, 4])]))
        #expect(result.verdict == .safe && result.format == .pytorchZip)
    }

    /// Member names are matched on their bytes where they are ASCII; other names are lowercased
    /// first, so a Kelvin sign (which lowercases to "k") still names a `.pkl` member.
    @Test func pickleMembersAreFoundWhateverTheirCase() throws {
        let malicious: [UInt8] = Array("cos\nsystem\n.".utf8)
        for name in ["archive/extra.PKL", "archive/extra.Pkl", "archive/extra.p\u{212A}l"] {
            let result = try scan("m.pt", Self.zip([(ascii("archive/data.pkl"), benignPickle), (Array(name.utf8), malicious)]))
            #expect(result.verdict == .unsafe, "\(name)")
            #expect(result.findings.contains { $0.member == name && $0.kind == .dangerousImport }, "\(name)")
        }
        #expect(ZipContainerScanner.hasSuffix("a.NPY", ".npy") && !ZipContainerScanner.hasSuffix("a.npz", ".npy"))
        #expect(!ZipContainerScanner.hasSuffix("py", ".py") && ZipContainerScanner.hasSuffix(".py", ".py"))
        #expect(ZipContainerScanner.isTorchRecord("archive/data.pkl") && ZipContainerScanner.isTorchRecord("data.pkl"))
        #expect(!ZipContainerScanner.isTorchRecord("a/b/data.pkl") && !ZipContainerScanner.isTorchRecord("xdata.pkl"))
    }

    /// The first read of a file also tells its size (no `fstat`) unless it fills the buffer or
    /// reads nothing; FIFOs, directories and devices are refused, and a FIFO without a writer
    /// does not hold the scan up.
    @Test func specialFilesAreRefusedAndFilesAroundTheReadLimitReadWhole() throws {
        let folder = (try ScanTestSupport.temporaryFile("x", []) as NSString).deletingLastPathComponent
        let fifo = folder + "/pipe.pkl"
        #expect(mkfifo(fifo, 0o600) == 0)
        for path in [fifo, folder, "/dev/null", "/dev/zero"] {
            let result = ScanTestSupport.scanner().scanFile(at: path, as: "w.pkl")
            #expect(result.verdict == .invalid && result.findings.first?.detail == "not a regular file", "\(path): \(result.findings)")
        }
        let limit = ModelScanner.prefetchLength
        for size in [1, limit - 1, limit, limit + 1, 3 * limit] {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
            let file = try ScanFile(path: try ScanTestSupport.temporaryFile("f.bin", bytes), wholeFileLimit: limit)
            #expect(file.size == size)
            #expect(try file.readExactly(count: min(size, limit), at: 0) == Array(bytes.prefix(limit)), "\(size)")
            #expect(try file.readExactly(count: 1, at: size - 1) == [bytes[size - 1]], "\(size)")
        }
        let empty = try ScanFile(path: try ScanTestSupport.temporaryFile("e.bin", []), wholeFileLimit: limit)
        #expect(empty.size == 0)
        #expect(try empty.readExactly(count: 0, at: 0) == [])
    }

    @Test func extensionsAreTheLowercasedTextAfterTheLastDotOfTheBaseName() {
        #expect(ScanFormatDetector.fileExtension("dir.d/model.PT") == "pt")
        #expect(ScanFormatDetector.fileExtension("dir.d/model") == "")
        #expect(ScanFormatDetector.fileExtension("dir/.hidden") == "")
        #expect(ScanFormatDetector.fileExtension("a.tar.GZ") == "gz")
        #expect(ScanFormatDetector.fileExtension("w.p\u{212A}l") == "pkl")
        #expect(ScanFormatDetector.fileExtension("x.") == "")
        let claims: [String: ScanFormat?] = [
            "pkl": .pickle, "pickle": .pickle, "pt": .pickle, "pth": .pickle, "ckpt": .pickle, "npy": .numpy,
            "npz": .numpyZip, "joblib": .joblib, "keras": .keras, "safetensors": .safetensors,
            "bin": nil, "json": nil, "": nil, "p": nil, "pkls": nil, "safetensor": nil, "kerasx": nil,
        ]
        for (ext, claim) in claims { #expect(ScanFormatDetector.claimedFormat(extension: ext) == claim, "\(ext)") }
    }

    @Test(arguments: ["/abs/data.pkl", "a/../../x", "a\\b", "C:/x", "a\u{0}b"])
    func traversalMemberNamesAreUnsafe(_ name: String) throws {
        let result = try scan("m.pt", Self.zip([(ascii("archive/data.pkl"), benignPickle), (ascii(name), benignPickle)]))
        #expect(result.verdict == .unsafe)
        #expect(result.findings.map(\.kind) == [.pathTraversal])
        #expect(result.findings.first?.member == name)
    }

    @Test func duplicateMemberNamesAreInvalid() throws {
        let member = (ascii("archive/data.pkl"), benignPickle)
        let result = try scan("m.pt", Self.zip([member, member]))
        #expect(result.verdict == .invalid && result.findings.map(\.kind) == [.malformed])
    }

    @Test func crcMismatchIsInvalid() throws {
        var bytes = Self.zip([(ascii("archive/data.pkl"), benignPickle)])
        bytes[30 + 16 + 3] = 0x02 // change the stored pickle's int (data starts after header + name)
        let result = try scan("m.pt", bytes)
        #expect(result.verdict == .invalid)
        #expect(result.findings.first?.detail.contains("CRC") == true)
    }

    @Test func truncatedZipIsInvalidOnlyWhenItClaimsAFormat() throws {
        let bytes = Array(Self.zip([(ascii("archive/data.pkl"), benignPickle)]).dropLast(10))
        #expect(try scan("m.pt", bytes).verdict == .invalid)
        #expect(try scan("m.npz", bytes).verdict == .invalid)
        #expect(try scan("stuff.zip", bytes).verdict == .safe)
    }

    @Test func zipWithoutAKnownLayoutIsUnrecognizedWhenNamedLikeAModel() throws {
        let bytes = Self.zip([(ascii("readme.txt"), [1])])
        let result = try scan("m.pt", bytes)
        #expect(result.verdict == .invalid && result.findings.map(\.kind) == [.unrecognized])
        #expect(try scan("m.bin", bytes).verdict == .invalid)
    }

    @Test func emptyZipMemberPickleIsInvalid() throws {
        let result = try scan("m.pt", Self.zip([(ascii("archive/data.pkl"), [])]))
        #expect(result.verdict == .invalid && result.findings.map(\.kind) == [.truncated])
    }

    @Test func npyHeaderRules() throws {
        func npy(_ header: String, major: UInt8 = 1, data: [UInt8] = []) -> [UInt8] {
            let text = ascii(header)
            let length: [UInt8] = major == 1 ? [UInt8(text.count & 0xFF), UInt8(text.count >> 8)]
                : [UInt8(text.count & 0xFF), UInt8(text.count >> 8), 0, 0]
            return NumpyHeader.magic + [major, 0] + length + text + data
        }
        #expect(try scan("a.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", data: [UInt8](repeating: 0, count: 8))).verdict == .safe)
        #expect(try scan("a.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", major: 2, data: [UInt8](repeating: 0, count: 8))).verdict == .safe)
        #expect(try scan("a.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", data: [UInt8](repeating: 0, count: 8))).verdict == .invalid)
        #expect(try scan("a.npy", npy("{'descr': 'object', 'fortran_order': False, 'shape': (1,)}")).verdict == .invalid)
        #expect(try scan("a.npy", npy("{'descr': '<f4', 'shape': (1,)}")).verdict == .invalid)
        #expect(try scan("a.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}")).verdict == .invalid)
        #expect(try scan("a.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}")).verdict == .invalid)
        // Object fields inside a structured dtype mean a pickle follows.
        let objectField = npy("{'descr': [('a', '<f4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,)}",
                              data: [0x80, 0x02] + global("os", "system") + [0x2E])
        #expect(try scan("a.npy", objectField).verdict == .unsafe)
        var tooLong = NumpyHeader.magic + [1, 0, 0x20, 0x4E]
        tooLong += [UInt8](repeating: 0x20, count: 16)
        #expect(try scan("a.npy", tooLong).findings.map(\.kind) == [.limitExceeded])
    }

    @Test func detectionIsByMagicFirst() throws {
        let pickle: [UInt8] = [0x80, 0x02] + global("os", "system") + [0x2E]
        #expect(try scan("weights.txt", pickle).format == .pickle)
        #expect(try scan("weights.txt", pickle).verdict == .unsafe)
        #expect(try scan("notes.md", ascii("# hello\n")).verdict == .safe)
        #expect(try scan("x.ckpt", ascii("garbage that is no pickle")).verdict == .invalid)
        #expect(try scan("x.keras", [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A, 0]).findings.map(\.kind) == [.unsupported])
    }

    /// joblib skips the array bytes after a `NumpyArrayWrapper`'s BUILD; `pickle.load` reads
    /// them as opcodes. Bytes that are harmless array data to one reader and an import to the
    /// other must be reported: the plain reading resumes from the wrapper and finds it.
    @Test func importHiddenInJoblibArrayBytesIsFoundByThePlainReading() throws {
        let benign = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ScanTestSupport.fixturesPath + "/joblib_benign.joblib")))
        // The fixture: BUILD at 234, then the padding length (4), 4 padding bytes and 48 bytes
        // of float64 data, then the rest of the pickle at 288.
        try #require(benign[234] == 0x62 && benign[235] == 4 && benign[288] == 0x95)
        // Padding length 0x28 ('(' MARK to pickle.load): 40 padding bytes and the 48 data bytes
        // follow, and joblib lands at the same opcode as before.
        let hidden = global("os", "system") + [UInt8](repeating: 0x4E, count: 88 - 11)
        let crafted = Array(benign[..<235]) + [0x28] + hidden + Array(benign[288...])
        let result = try scan("model.joblib", crafted)
        #expect(result.verdict == .unsafe)
        #expect(result.findings.contains { $0.kind == .dangerousImport && $0.offset == 236 && $0.detail.contains("os.system") })
        #expect(result.imports.contains { $0.module == "os" && $0.name == "system" && $0.opcode == "GLOBAL" && $0.offset == 236 })
        // The joblib reading alone still finds the file intact: no structural finding.
        #expect(!result.findings.contains { $0.kind == .malformed || $0.kind == .truncated })
    }
}
