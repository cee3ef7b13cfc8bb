/// Reads a PEP 440 version from bytes, accepting every spelling PEP 440 normalizes: a leading
/// `v`; `.`, `-` or `_` (or nothing) before and inside the pre, post and dev parts; the
/// alternative words `alpha`, `beta`, `c`, `pre`, `preview`, `rev`, `r`; an implicit post
/// (`1.0-1`); a missing number meaning 0. Letters in any case; whitespace around is skipped.
///
/// Each part is committed once matched (no backtracking into it), as `packaging` does with
/// possessive groups, so `1.0a.` is `1.0a0` and `1.0_1` is not a version.
struct VersionScanner {
    private let bytes: [UInt8]
    private(set) var position: Int
    private let end: Int

    init(_ text: String) {
        bytes = Array(text.utf8)
        var start = 0
        var stop = bytes.count
        while start < stop && Self.isSpace(bytes[start]) { start += 1 }
        while stop > start && Self.isSpace(bytes[stop - 1]) { stop -= 1 }
        position = start
        end = stop
    }

    var atEnd: Bool { position == end }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    static func isSeparator(_ byte: UInt8) -> Bool { byte == 0x2E || byte == 0x2D || byte == 0x5F }
    static func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte + 32 : byte }
    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isDigit(byte) || (lower(byte) >= 0x61 && lower(byte) <= 0x7A)
    }

    private func peek(_ offset: Int = 0) -> UInt8? {
        position + offset < end ? bytes[position + offset] : nil
    }

    /// Matches `word` (lowercase ASCII) case-insensitively at `position + offset`.
    private func matches(_ word: StaticString, at offset: Int) -> Bool {
        let count = word.utf8CodeUnitCount
        guard position + offset + count <= end else { return false }
        return word.withUTF8Buffer { buffer in
            for i in 0..<count where Self.lower(bytes[position + offset + i]) != buffer[i] { return false }
            return true
        }
    }

    /// Digits at `position + offset`: how many, and their value (nil when too long).
    private func number(at offset: Int) -> (length: Int, value: UInt64?) {
        var i = position + offset
        var value: UInt64 = 0
        var overflow = false
        while i < end && Self.isDigit(bytes[i]) {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(bytes[i] - 0x30))
            overflow = overflow || o1 || o2
            value = sum
            i += 1
        }
        return (i - position - offset, overflow ? nil : value)
    }

    /// The version at `position`, leaving `position` after it; nil (position undefined) when
    /// none starts here or a number is too large.
    mutating func version() -> PythonVersion? {
        if let byte = peek(), Self.lower(byte) == 0x76 { position += 1 }  // v
        var epoch: UInt64 = 0
        let first = number(at: 0)
        guard first.length > 0, let firstValue = first.value else { return nil }
        if peek(first.length) == 0x21 {  // !
            epoch = firstValue
            position += first.length + 1
        }
        guard let release = releaseNumbers() else { return nil }
        var version = PythonVersion(epoch: epoch, release: release)
        guard scanPre(into: &version), scanPost(into: &version), scanDev(into: &version), scanLocal(into: &version) else { return nil }
        return version
    }

    /// `N(.N)*`; a dot not followed by a digit is left for what follows.
    private mutating func releaseNumbers() -> [UInt64]? {
        var release: [UInt64] = []
        repeat {
            let part = number(at: 0)
            guard part.length > 0, let value = part.value else { return release.isEmpty ? nil : release }
            release.append(value)
            position += part.length
            guard peek() == 0x2E, let next = peek(1), Self.isDigit(next) else { return release }
            position += 1
        } while true
    }

    private static let preWords: [(StaticString, PythonVersion.Phase)] = [
        ("alpha", .alpha), ("a", .alpha), ("beta", .beta), ("b", .beta),
        ("preview", .candidate), ("pre", .candidate), ("c", .candidate), ("rc", .candidate),
    ]

    /// `[sep]word[sep][N]`; false only when a number is too large.
    private mutating func scanPre(into version: inout PythonVersion) -> Bool {
        let skip = peek().map(Self.isSeparator) == true ? 1 : 0
        guard let (word, phase) = Self.preWords.first(where: { matches($0.0, at: skip) }) else { return true }
        position += skip + word.utf8CodeUnitCount
        guard let value = optionalNumberAfterSeparator() else { return false }
        version.pre = (phase, value)
        return true
    }

    /// `[sep][N]` after a word: the separator is taken even without a number; nil when too large.
    private mutating func optionalNumberAfterSeparator() -> UInt64? {
        if let byte = peek(), Self.isSeparator(byte) { position += 1 }
        let digits = number(at: 0)
        guard digits.length > 0 else { return 0 }
        guard let value = digits.value else { return nil }
        position += digits.length
        return value
    }

    /// `-N`, or `[sep](post|rev|r)[sep][N]`.
    private mutating func scanPost(into version: inout PythonVersion) -> Bool {
        if peek() == 0x2D {
            let digits = number(at: 1)
            if digits.length > 0 {
                guard let value = digits.value else { return false }
                position += 1 + digits.length
                version.post = value
                return true
            }
        }
        for skip in (peek().map(Self.isSeparator) == true ? [1, 0] : [0]) {
            for word: StaticString in ["post", "rev", "r"] where matches(word, at: skip) {
                position += skip + word.utf8CodeUnitCount
                guard let value = optionalNumberAfterSeparator() else { return false }
                version.post = value
                return true
            }
        }
        return true
    }

    /// `[sep]dev[sep][N]`.
    private mutating func scanDev(into version: inout PythonVersion) -> Bool {
        let skip = peek().map(Self.isSeparator) == true ? 1 : 0
        guard matches("dev", at: skip) else { return true }
        position += skip + 3
        guard let value = optionalNumberAfterSeparator() else { return false }
        version.dev = value
        return true
    }

    /// `+part([sep]part)*`, parts alphanumeric; lowercased, digit-only parts as numbers.
    private mutating func scanLocal(into version: inout PythonVersion) -> Bool {
        guard peek() == 0x2B else { return true }  // +
        var parts: [PythonVersion.LocalPart] = []
        var i = position + 1
        repeat {
            var j = i
            while j < end && Self.isAlphanumeric(bytes[j]) { j += 1 }
            guard j > i else { break }
            let part = bytes[i..<j].map(Self.lower)
            if part.allSatisfy(Self.isDigit) {
                guard let value = UInt64(String(decoding: part, as: UTF8.self)) else { return false }
                parts.append(.number(value))
            } else {
                parts.append(.text(String(decoding: part, as: UTF8.self)))
            }
            position = j
            guard j < end, Self.isSeparator(bytes[j]), j + 1 < end, Self.isAlphanumeric(bytes[j + 1]) else { break }
            i = j + 1
        } while true
        guard !parts.isEmpty else { return true }  // a lone '+' is left, so the caller refuses it
        version.local = parts
        return true
    }
}
