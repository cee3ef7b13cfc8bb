/// One member as the zip central directory describes it.
struct ZipArchiveEntry: Sendable {
    /// The raw name bytes.
    var rawName: [UInt8]
    /// The name decoded as UTF-8 (invalid bytes replaced), for matching and reporting.
    var name: String
    var flags: UInt16
    var method: UInt16
    var crc32: UInt32
    var compressedSize: UInt64
    var uncompressedSize: UInt64
    var localHeaderOffset: UInt64
    /// Where the next member (or the central directory) starts: this member must end before.
    var boundary: UInt64 = 0

    static let methodStored: UInt16 = 0
    static let methodDeflated: UInt16 = 8

    var isEncrypted: Bool { flags & 1 != 0 }
    var isDirectory: Bool { name.hasSuffix("/") }
    /// The last path component.
    var baseName: Substring { name.split(separator: "/", omittingEmptySubsequences: false).last ?? Substring(name) }

    /// Why this name would escape an extraction folder, or nil.
    var traversalReason: String? {
        if rawName.isEmpty { return "empty member name" }
        if rawName.contains(0) { return "member name contains NUL" }
        if rawName.contains(UInt8(ascii: "\\")) { return "member name contains a backslash" }
        if rawName.first == UInt8(ascii: "/") { return "absolute member name" }
        if rawName.count >= 2, rawName[1] == UInt8(ascii: ":"),
           let first = rawName.first, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first & 0xDF) {
            return "member name starts with a drive letter"
        }
        var componentStart = 0
        for index in 0...rawName.count where index == rawName.count || rawName[index] == UInt8(ascii: "/") {
            if index - componentStart == 2, rawName[componentStart] == UInt8(ascii: "."),
               rawName[componentStart + 1] == UInt8(ascii: ".") {
                return "member name contains a .. component"
            }
            componentStart = index + 1
        }
        return nil
    }
}
