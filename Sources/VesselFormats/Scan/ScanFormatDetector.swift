/// Decides how to read a file: magic bytes first, extension second.
enum ScanFormatDetector {
    enum Detection: Equatable {
        case safetensors
        case pickle
        case pytorchLegacy
        case numpy
        case zip
        case joblibCompressed
        /// A `.bin` whose first byte starts a protocol 0/1 pickle: scanned, data if it isn't one.
        case probablePickle
        case unsupportedCompression(String, ScanFormat)
        case unsupported(String, ScanFormat)
        case unrecognized(ScanFormat)
        case empty(ScanFormat)
        case data
    }

    /// How many leading bytes `detect` looks at.
    static let headLength = 16

    /// The first pickle of every legacy PyTorch file: protocol 2, `LONG1` magic number, `STOP`.
    static let legacyTorchMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]

    /// Opcodes a protocol 0/1 pickle typically starts with.
    private static let protocol0Starts: Set<UInt8> = Set("(c]})ILSVNFGJKMUXTildP".utf8)

    /// The lowercased extension of `fileName`, without the dot ("" when none).
    static func fileExtension(_ fileName: String) -> String {
        // Searching the contiguous bytes backwards is a plain loop, where walking
        // `String.UTF8View` backwards cost about 20 instructions a byte.
        var fileName = fileName
        return fileName.withUTF8 { bytes in
        let baseStart = bytes.lastIndex(of: UInt8(ascii: "/")).map { bytes.index(after: $0) } ?? bytes.startIndex
        guard let dot = bytes[baseStart...].lastIndex(of: UInt8(ascii: ".")), dot != baseStart else { return "" }
        let ext = bytes[bytes.index(after: dot)...]
        // Most extensions are short lowercase ASCII: no lowercasing (and no allocation) needed.
        if !ext.contains(where: { $0 >= 0x80 || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) {
            return String(decoding: ext, as: UTF8.self)
        }
        return String(decoding: ext, as: UTF8.self).lowercased()
        }
    }

    /// The pickle-based format a file's extension claims, if any (`.bin` claims nothing by itself).
    static func claimedFormat(extension ext: String) -> ScanFormat? {
        // By length first: a switch over strings compares with each case in turn, and it is
        // asked a few times for every file (most of whose extensions are none of these).
        switch ext.utf8.count {
        case 2: return ext == "pt" ? .pickle : nil
        case 3:
            switch ext {
            case "pkl", "pth": return .pickle
            case "npy": return .numpy
            case "npz": return .numpyZip
            default: return nil
            }
        case 4: return ext == "ckpt" ? .pickle : nil
        case 5: return ext == "keras" ? .keras : nil
        case 6: return ext == "pickle" ? .pickle : (ext == "joblib" ? .joblib : nil)
        case 11: return ext == "safetensors" ? .safetensors : nil
        default: return nil
        }
    }

    /// - Parameter ext: the lowercased extension (`fileExtension(_:)`).
    static func detect(head: [UInt8], size: Int, extension ext: String) -> Detection {
        let claim = claimedFormat(extension: ext)
        if size == 0 {
            if claim == .safetensors { return .safetensors }
            if let claim { return .empty(claim) }
            return .data
        }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) { return .zip }
        if head.starts(with: NumpyHeader.magic) { return .numpy }
        if claim == .safetensors { return .safetensors }
        if head.count >= 2, head[0] == 0x80, head[1] <= 5 {
            return head.starts(with: legacyTorchMagic) ? .pytorchLegacy : .pickle
        }
        if looksLikeSafetensors(head, size: size) { return .safetensors }
        let picklish = claim == .pickle || claim == .joblib
        if picklish, let compression = compression(head) {
            if compression == "zlib" || compression == "gzip" { return .joblibCompressed }
            return .unsupportedCompression(compression, .joblib)
        }
        if claim == .keras, head.starts(with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return .unsupported("HDF5-based (Keras 2) .keras files are not scanned", .keras)
        }
        if picklish { return .pickle }
        if let claim { return .unrecognized(claim) }
        if ext == "bin", let first = head.first, protocol0Starts.contains(first) { return .probablePickle }
        return .data
    }

    private static func looksLikeSafetensors(_ head: [UInt8], size: Int) -> Bool {
        guard head.count >= 9, head[8] == UInt8(ascii: "{") else { return false }
        var length: UInt64 = 0
        for index in (0..<8).reversed() { length = length << 8 | UInt64(head[index]) }
        return size >= 8 && length <= UInt64(size - 8)
    }

    /// The compression a joblib-style file uses, by its magic (joblib's own prefixes).
    private static func compression(_ head: [UInt8]) -> String? {
        if head.count >= 2, head[0] == 0x78, (UInt16(head[0]) << 8 | UInt16(head[1])) % 31 == 0 { return "zlib" }
        if head.starts(with: [0x1F, 0x8B]) { return "gzip" }
        if head.starts(with: Array("BZh".utf8)) { return "bz2" }
        if head.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A]) { return "xz" }
        if head.starts(with: [0x5D, 0x00]) { return "lzma" }
        if head.starts(with: [0x04, 0x22, 0x4D, 0x18]) { return "lz4" }
        if head.starts(with: Array("ZF".utf8)) { return "legacy joblib ZF (zlib, pre-0.10)" }
        return nil
    }
}
