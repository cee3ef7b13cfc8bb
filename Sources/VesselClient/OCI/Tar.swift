import CVesselZlib
import Crypto
import Foundation
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// A file written through a buffer while its SHA-256 and size are counted: an OCI blob being made.
final class HashingFileWriter {
    private let fd: Int32
    let path: String
    private var hasher = SHA256()
    private(set) var size: UInt64 = 0
    private var buffer: [UInt8] = []
    private static let flushAt = 1 << 20

    init(path: String) throws(VesselError) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .invalidArgument("cannot create '\(path)': \(String(cString: strerror(errno)))") }
        self.path = path
        buffer.reserveCapacity(Self.flushAt + 512)
    }

    deinit { if fd >= 0 { close(fd) } }

    func write<C: Collection>(_ bytes: C) throws(VesselError) where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushAt { try flush() }
    }

    private func flush() throws(VesselError) {
        guard !buffer.isEmpty else { return }
        hasher.update(data: buffer)
        size += UInt64(buffer.count)
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .invalidArgument("cannot write '\(path)': \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and returns the digest of everything written.
    func finish() throws(VesselError) -> VesselCore.Digest {
        try flush()
        guard fsync(fd) == 0 else { throw .invalidArgument("cannot sync '\(path)': \(String(cString: strerror(errno)))") }
        return VesselCore.Digest(bytes: Array(hasher.finalize()))
    }
}

/// Writes a tar stream (POSIX ustar, with PAX records for a path or size ustar cannot hold)
/// that is the same bytes every time for the same entries: mtime 0, uid and gid 0, no user or
/// group names, modes 0644 and 0755. The caller gives entries in the order to write them.
struct TarWriter {
    static let block = 512
    let out: HashingFileWriter

    func directory(_ path: String) throws(VesselError) {
        let name = path.hasSuffix("/") ? path : path + "/"
        try header(name: name, size: 0, type: UInt8(ascii: "5"), mode: 0o755)
    }

    /// A regular file whose `size` bytes are read from `source`.
    func file(_ path: String, size: UInt64, from source: String) throws(VesselError) {
        try header(name: path, size: size, type: UInt8(ascii: "0"), mode: 0o644)
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .invalidArgument("cannot read '\(source)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var left = size
        while left > 0 {
            let want = Int(min(UInt64(chunk.count), left))
            let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, want) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw .invalidArgument("'\(source)' changed while it was being exported (ended \(left) bytes early)") }
            try out.write(chunk[0..<got])
            left -= UInt64(got)
        }
        try pad(size)
    }

    /// Two zero blocks.
    func end() throws(VesselError) {
        try out.write([UInt8](repeating: 0, count: 2 * Self.block))
    }

    private func pad(_ size: UInt64) throws(VesselError) {
        let rest = Int(size % UInt64(Self.block))
        if rest > 0 { try out.write([UInt8](repeating: 0, count: Self.block - rest)) }
    }

    private static let maxOctalSize: UInt64 = 0o77777777777

    private func header(name: String, size: UInt64, type: UInt8, mode: Int) throws(VesselError) {
        let bytes = Array(name.utf8)
        var ustarName = bytes, prefix: [UInt8] = []
        var pax: [(String, String)] = []
        if bytes.count > 100 {
            // ustar splits at a '/' into a prefix of at most 155 bytes and a name of at most 100.
            if let split = bytes.indices.last(where: { bytes[$0] == UInt8(ascii: "/") && $0 <= 155 && bytes.count - $0 - 1 <= 100 && bytes.count - $0 - 1 > 0 }) {
                prefix = Array(bytes[..<split])
                ustarName = Array(bytes[(split + 1)...])
            } else {
                pax.append(("path", name))
                ustarName = Array(bytes.prefix(100))
            }
        }
        if size > Self.maxOctalSize { pax.append(("size", String(size))) }
        if !pax.isEmpty {
            var records: [UInt8] = []
            for (key, value) in pax { records += Self.paxRecord(key, value) }
            let paxName = Array("PaxHeaders/".utf8) + Array(ustarName.suffix(89))
            try out.write(Self.ustarBlock(name: paxName, prefix: [], size: UInt64(records.count), type: UInt8(ascii: "x"), mode: 0o644))
            try out.write(records)
            try pad(UInt64(records.count))
        }
        try out.write(Self.ustarBlock(name: ustarName, prefix: prefix, size: min(size, Self.maxOctalSize), type: type, mode: mode))
    }

    /// `"<length> key=value\n"`, the length counting itself.
    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n".utf8.count
        var length = body + String(body).count
        if String(length).count != String(body).count { length = body + String(length).count }
        return Array("\(length) \(key)=\(value)\n".utf8)
    }

    static func ustarBlock(name: [UInt8], prefix: [UInt8], size: UInt64, type: UInt8, mode: Int) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: Self.block)
        func put(_ bytes: [UInt8], at offset: Int) { for (i, b) in bytes.enumerated() { block[offset + i] = b } }
        func octal(_ value: UInt64, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(Array(name.prefix(100)), at: 0)
        put(octal(UInt64(mode), width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(0, width: 12), at: 136)
        block[156] = type
        put(Array("ustar\0".utf8), at: 257)
        put(Array("00".utf8), at: 263)
        put(octal(0, width: 8), at: 329)
        put(octal(0, width: 8), at: 337)
        put(Array(prefix.prefix(155)), at: 345)
        for i in 148..<156 { block[i] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + UInt64($1) }
        put(octal(sum, width: 7) + [UInt8(ascii: " ")], at: 148)
        return block
    }
}

/// One entry of a tar stream as `TarReader` hands it over.
struct TarEntry {
    enum Kind { case file, directory }
    var path: String
    var size: UInt64
    var kind: Kind
}

/// Reads a tar stream (ustar, PAX `x` records for path and size, GNU long names) from a file,
/// hashing every byte of it so the caller can check the file's digest once it reached the end.
/// Only regular files and directories are accepted: links, devices and FIFOs are refused, since
/// a version holds regular files only.
final class TarReader {
    private let fd: Int32
    let path: String
    private var hasher = SHA256()
    private(set) var consumed: UInt64 = 0
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var start = 0, end = 0

    /// A gzip layer: the file's bytes are hashed as read (the layer digest), the tar stream
    /// inflated from them and hashed too (the diff_id).
    private final class Gunzip {
        var z = z_stream()
        var ready = false
        var raw = [UInt8](repeating: 0, count: 1 << 20)
        var rawStart = 0, rawEnd = 0, rawEOF = false, ended = false
        var tarHasher = SHA256()
        init() throws(VesselError) {
            guard inflateInit2_(&z, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw .internalError("zlib could not start") }
            ready = true
        }
        deinit { if ready { inflateEnd(&z) } }
    }
    private let gunzip: Gunzip?

    init(path: String, gzip: Bool = false) throws(VesselError) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .invalidArgument("cannot read '\(path)': \(String(cString: strerror(errno)))") }
        self.path = path
        gunzip = gzip ? try Gunzip() : nil
    }

    deinit { close(fd) }

    /// Fills the buffer with inflated bytes; false at the end of the gzip stream(s).
    private func fillInflated(_ g: Gunzip) throws(VesselError) -> Bool {
        start = 0
        end = 0
        while end == 0 {
            if g.rawStart == g.rawEnd && !g.rawEOF {
                let got = g.raw.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                if got < 0 && errno == EINTR { continue }
                guard got >= 0 else { throw .invalidArgument("cannot read '\(path)': \(String(cString: strerror(errno)))") }
                g.rawStart = 0
                g.rawEnd = got
                if got == 0 { g.rawEOF = true } else {
                    g.raw.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
                    consumed += UInt64(got)
                }
            }
            if g.ended {
                guard g.rawStart < g.rawEnd else { if g.rawEOF { return false } else { continue } }
                inflateReset(&g.z)  // another gzip member follows
                g.ended = false
            }
            if g.rawEOF && g.rawStart == g.rawEnd { throw .invalidArgument("layer '\(path)' is a truncated gzip stream") }
            let available = g.rawEnd - g.rawStart
            let status: Int32 = g.raw.withUnsafeMutableBytes { input in
                buffer.withUnsafeMutableBytes { output in
                    g.z.next_in = input.baseAddress!.assumingMemoryBound(to: UInt8.self) + g.rawStart
                    g.z.avail_in = UInt32(available)
                    g.z.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    g.z.avail_out = UInt32(output.count)
                    return inflate(&g.z, Z_NO_FLUSH)
                }
            }
            g.rawStart = g.rawEnd - Int(g.z.avail_in)
            end = buffer.count - Int(g.z.avail_out)
            switch status {
            case Z_STREAM_END: g.ended = true
            case Z_OK, Z_BUF_ERROR: break
            default: throw .invalidArgument("layer '\(path)' is not a valid gzip stream (zlib \(status))")
            }
        }
        buffer.withUnsafeBytes { g.tarHasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
        return true
    }

    /// Fills the buffer; false at the end of the file.
    private func fill() throws(VesselError) -> Bool {
        if let gunzip { return try fillInflated(gunzip) }
        start = 0
        while true {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw .invalidArgument("cannot read '\(path)': \(String(cString: strerror(errno)))") }
            end = got
            if got > 0 {
                buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
                consumed += UInt64(got)
            }
            return got > 0
        }
    }

    /// Exactly `count` bytes, handed to `body` in pieces.
    private func read(_ count: UInt64, _ body: (ArraySlice<UInt8>) throws(VesselError) -> Void) throws(VesselError) {
        var left = count
        while left > 0 {
            if start == end { guard try fill() else { throw .invalidArgument("layer '\(path)' ends in the middle of an entry") } }
            let take = Int(min(UInt64(end - start), left))
            try body(buffer[start..<(start + take)])
            start += take
            left -= UInt64(take)
        }
    }

    private func readBytes(_ count: Int) throws(VesselError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        try read(UInt64(count)) { out.append(contentsOf: $0) }
        return out
    }

    private func skipPadding(_ size: UInt64) throws(VesselError) {
        let rest = Int(size % 512)
        if rest > 0 { try read(UInt64(512 - rest)) { _ in } }
    }

    /// The next entry, with its content handed to `content` (nothing for a directory); nil at
    /// the end of the archive.
    func next(_ content: (TarEntry, ArraySlice<UInt8>) throws(VesselError) -> Void, begin: (TarEntry) throws(VesselError) -> Void) throws(VesselError) -> TarEntry? {
        var paxPath: String?, paxSize: UInt64?, longName: String?
        while true {
            let header: [UInt8]
            do { header = try readBytes(512) } catch { throw .invalidArgument("layer '\(path)' ends without the two zero blocks that close a tar archive") }
            if header.allSatisfy({ $0 == 0 }) {
                // The end: a second zero block must follow (a layer cut inside it is truncated).
                let second: [UInt8]
                do { second = try readBytes(512) } catch { throw .invalidArgument("layer '\(path)' ends after one of the two zero blocks that close a tar archive: it is truncated") }
                guard second.allSatisfy({ $0 == 0 }) else { throw .invalidArgument("layer '\(path)' holds a lone zero block in the middle of the archive") }
                return nil
            }
            let stored = Self.octal(header[148..<156]) ?? UInt64.max
            var check = header
            for i in 148..<156 { check[i] = UInt8(ascii: " ") }
            guard check.reduce(0, { $0 + UInt64($1) }) == stored else { throw .invalidArgument("layer '\(path)' holds a tar header with a wrong checksum (at byte \(consumed))") }
            let type = header[156]
            guard let size = Self.size(header[124..<136]) else { throw .invalidArgument("layer '\(path)' holds a tar header with an unreadable size") }
            func text(_ range: Range<Int>) -> String {
                let bytes = header[range].prefix { $0 != 0 }
                return String(decoding: bytes, as: UTF8.self)
            }
            switch type {
            case UInt8(ascii: "x"):
                guard size <= 1 << 20 else { throw .invalidArgument("layer '\(path)' holds a PAX header of \(size) bytes") }
                let records = try readBytes(Int(size))
                try skipPadding(size)
                for (key, value) in try Self.paxRecords(records, layer: path) {
                    if key == "path" { paxPath = value }
                    if key == "size" {
                        guard let parsed = UInt64(value) else { throw .invalidArgument("layer '\(path)' holds a PAX size '\(value.prefix(40))'") }
                        paxSize = parsed
                    }
                }
                continue
            case UInt8(ascii: "g"):
                guard size <= 1 << 20 else { throw .invalidArgument("layer '\(path)' holds a PAX header of \(size) bytes") }
                _ = try readBytes(Int(size))
                try skipPadding(size)
                continue
            case UInt8(ascii: "L"):
                guard size <= 1 << 20 else { throw .invalidArgument("layer '\(path)' holds a long name of \(size) bytes") }
                longName = String(decoding: try readBytes(Int(size)).prefix { $0 != 0 }, as: UTF8.self)
                try skipPadding(size)
                continue
            default: break
            }
            var name = text(0..<100)
            let magic = text(257..<263)
            if magic.hasPrefix("ustar"), !text(345..<500).isEmpty { name = text(345..<500) + "/" + name }
            let entryPath = paxPath ?? longName ?? name
            let entrySize = paxSize ?? size
            let kind: TarEntry.Kind
            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = .file
            case UInt8(ascii: "5"): kind = .directory
            case UInt8(ascii: "1"): throw .invalidArgument("layer entry '\(entryPath.prefix(200))' is a hard link; a version holds regular files only")
            case UInt8(ascii: "2"): throw .invalidArgument("layer entry '\(entryPath.prefix(200))' is a symbolic link; a version holds regular files only")
            default: throw .invalidArgument("layer entry '\(entryPath.prefix(200))' has tar type '\(String(UnicodeScalar(type)))'; a version holds regular files only")
            }
            let entry = TarEntry(path: entryPath, size: kind == .file ? entrySize : 0, kind: kind)
            try begin(entry)
            if kind == .file {
                try read(entrySize) { (piece) throws(VesselError) in try content(entry, piece) }
                try skipPadding(entrySize)
            } else if entrySize > 0 {
                try read(entrySize) { _ in }
                try skipPadding(entrySize)
            }
            return entry
        }
    }

    /// Reads what follows the end of the archive (tar writers pad to a record size) and
    /// returns the digest and size of the whole file.
    func finish() throws(VesselError) -> (digest: VesselCore.Digest, size: UInt64, diffID: VesselCore.Digest) {
        start = end
        while try fill() { start = end }
        let digest = VesselCore.Digest(bytes: Array(hasher.finalize()))
        return (digest, consumed, gunzip.map { VesselCore.Digest(bytes: Array($0.tarHasher.finalize())) } ?? digest)
    }

    static func octal(_ field: ArraySlice<UInt8>) -> UInt64? {
        let digits = field.drop { $0 == UInt8(ascii: " ") || $0 == 0 }.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }
        guard !digits.isEmpty else { return field.allSatisfy { $0 == 0 || $0 == UInt8(ascii: " ") } ? 0 : nil }
        var value: UInt64 = 0
        for d in digits {
            guard value <= UInt64.max >> 3 else { return nil }
            value = value << 3 | UInt64(d - UInt8(ascii: "0"))
        }
        return value
    }

    /// Octal, or GNU base-256 when the first byte's high bit is set.
    static func size(_ field: ArraySlice<UInt8>) -> UInt64? {
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            var value: UInt64 = UInt64(first & 0x7f)
            for b in field.dropFirst() {
                guard value <= UInt64.max >> 8 else { return nil }
                value = value << 8 | UInt64(b)
            }
            return value
        }
        return octal(field)
    }

    static func paxRecords(_ bytes: [UInt8], layer: String) throws(VesselError) -> [(String, String)] {
        var out: [(String, String)] = []
        var i = 0
        while i < bytes.count {
            guard let space = bytes[i...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: bytes[i..<space], as: UTF8.self)), length > 0, i + length <= bytes.count,
                  bytes[i + length - 1] == UInt8(ascii: "\n")
            else { throw .invalidArgument("layer '\(layer)' holds a malformed PAX record") }
            let record = bytes[(space + 1)..<(i + length - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else { throw .invalidArgument("layer '\(layer)' holds a malformed PAX record") }
            out.append((String(decoding: record[..<equals], as: UTF8.self), String(decoding: record[(equals + 1)...], as: UTF8.self)))
            i += length
        }
        return out
    }
}
