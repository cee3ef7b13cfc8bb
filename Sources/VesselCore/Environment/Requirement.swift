/// A PEP 508 dependency specifier: `name [extras] (specifiers | @ url) [; marker]`, e.g.
/// `Transformers[torch] >=4.35, <5 ; python_version >= "3.9"`.
public struct Requirement: Sendable, Hashable, CustomStringConvertible {
    /// The name as written.
    public let name: String
    /// The name as PEP 503 compares it (`PackageName.normalize`).
    public var normalizedName: String { PackageName.normalize(name) }
    public let extras: [String]
    public let specifiers: SpecifierSet
    /// The URL after `@`, when the requirement names one (it is then not checked by version).
    public let url: String?
    public let marker: Marker?

    /// Parses one requirement (no comments, no pip options).
    /// - Throws: `RequirementError` with the column and what was expected there.
    public init(_ text: String) throws(RequirementError) {
        var parser = RequirementParser(text)
        self = try parser.requirement()
    }

    init(name: String, extras: [String], specifiers: SpecifierSet, url: String?, marker: Marker?) {
        self.name = name
        self.extras = extras
        self.specifiers = specifiers
        self.url = url
        self.marker = marker
    }

    public var description: String {
        var text = name
        if !extras.isEmpty { text += "[" + extras.joined(separator: ",") + "]" }
        if let url { text += " @ " + url } else { text += specifiers.description }
        if let marker { text += (url == nil ? "; " : " ; ") + marker.description }
        return text
    }
}

/// A line that is not a PEP 508 requirement.
public struct RequirementError: Error, Sendable, Equatable, CustomStringConvertible {
    public let text: String
    /// Column (from 1) where reading stopped.
    public let column: Int
    public let reason: String
    public var description: String { "\(reason) (column \(column) of '\(text)')" }
}

/// Reads `requirement = ws? name ws? extras? ws? (("@" ws? url (ws marker)?) | specifiers ws? marker?)`.
struct RequirementParser {
    private let text: String
    private let bytes: [UInt8]
    private var position = 0

    init(_ text: String) {
        self.text = text
        bytes = Array(text.utf8)
    }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipSpaces() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 { position += 1 }
    }

    private func fail(_ reason: String, at index: Int? = nil) -> RequirementError {
        let at = min(index ?? position, bytes.count)
        return RequirementError(text: text, column: String(decoding: bytes[0..<at], as: UTF8.self).count + 1, reason: reason)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        VersionScanner.isAlphanumeric(byte) || byte == 0x2E || byte == 0x2D || byte == 0x5F
    }

    /// `[A-Za-z0-9][A-Za-z0-9._-]*` ending on a word character, as `packaging`'s identifier.
    private mutating func identifier(_ expected: String) throws(RequirementError) -> String {
        guard let first = peek(), VersionScanner.isAlphanumeric(first) else { throw fail("Expected \(expected)") }
        var end = position + 1
        while end < bytes.count && Self.isNameByte(bytes[end]) { end += 1 }
        while end > position + 1 && (bytes[end - 1] == 0x2E || bytes[end - 1] == 0x2D) { end -= 1 }
        if end < bytes.count && bytes[end] >= 0x80 { throw fail("Expected \(expected)") }
        let name = String(decoding: bytes[position..<end], as: UTF8.self)
        position = end
        return name
    }

    mutating func requirement() throws(RequirementError) -> Requirement {
        skipSpaces()
        let name = try identifier("package name at the start of dependency specifier")
        skipSpaces()
        let extras = try extrasList()
        skipSpaces()
        if peek() == 0x40 {  // @
            position += 1
            skipSpaces()
            let start = position
            while let byte = peek(), byte != 0x20 && byte != 0x09 { position += 1 }
            guard position > start else { throw fail("Expected URL after @") }
            let url = String(decoding: bytes[start..<position], as: UTF8.self)
            var marker: Marker?
            if position < bytes.count {
                skipSpaces()
                if position < bytes.count {
                    guard peek() == 0x3B else { throw fail("Expected semicolon (after URL and whitespace) or end") }
                    marker = try markerAfterSemicolon()
                }
            }
            return Requirement(name: name, extras: extras, specifiers: SpecifierSet([]), url: url, marker: marker)
        }
        let specifierStart = position
        let specifiers = try specifierList()
        skipSpaces()
        var marker: Marker?
        if position < bytes.count {
            guard peek() == 0x3B else {
                let expected = specifiers.isEmpty ? "semicolon (after name with no version specifier)" : "comma (within version specifier), semicolon (after version specifier)"
                throw fail("Expected \(expected) or end", at: max(specifierStart, position))
            }
            marker = try markerAfterSemicolon()
        }
        return Requirement(name: name, extras: extras, specifiers: specifiers, url: nil, marker: marker)
    }

    private mutating func extrasList() throws(RequirementError) -> [String] {
        guard peek() == 0x5B else { return [] }  // [
        position += 1
        skipSpaces()
        var extras: [String] = []
        if let byte = peek(), VersionScanner.isAlphanumeric(byte) {
            extras.append(try identifier("extra name"))
            while true {
                skipSpaces()
                if let byte = peek(), VersionScanner.isAlphanumeric(byte) { throw fail("Expected comma between extra names") }
                guard peek() == 0x2C else { break }
                position += 1
                skipSpaces()
                extras.append(try identifier("extra name after comma"))
            }
        }
        skipSpaces()
        guard peek() == 0x5D else { throw fail("Expected matching RIGHT_BRACKET for LEFT_BRACKET, after extras") }
        position += 1
        return extras
    }

    /// `( specifiers )` or `specifiers`, each clause read up to whitespace, `,`, `;` or `)`.
    private mutating func specifierList() throws(RequirementError) -> SpecifierSet {
        let parenthesized = peek() == 0x28
        let open = position
        if parenthesized { position += 1; skipSpaces() }
        var clauses: [VersionSpecifier] = []
        while let byte = peek(), byte == 0x3C || byte == 0x3E || byte == 0x3D || byte == 0x21 || byte == 0x7E {
            let start = position
            while let b = peek(), b == 0x3C || b == 0x3E || b == 0x3D || b == 0x21 || b == 0x7E { position += 1 }
            // `===` takes everything up to whitespace, `;` or `)`, commas included (packaging's
            // token), so `===1.0, >=1` fails where `===1.0,>=1` is two clauses.
            let arbitrary = position - start == 3 && bytes[start..<position].elementsEqual("===".utf8)
            skipSpaces()
            while let b = peek(), !(b == 0x20 || b == 0x09 || b == 0x3B || b == 0x29 || (b == 0x2C && !arbitrary)) { position += 1 }
            let token = String(decoding: bytes[start..<position], as: UTF8.self)
            do throws(SpecifierError) {
                clauses.append(contentsOf: try SpecifierSet(token).clauses)
            } catch {
                throw fail(error.reason, at: start)
            }
            skipSpaces()
            guard peek() == 0x2C else { break }
            position += 1
            skipSpaces()
        }
        if parenthesized {
            skipSpaces()
            guard peek() == 0x29 else { throw fail("Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after version specifier", at: open) }
            position += 1
        }
        return SpecifierSet(clauses)
    }

    private mutating func markerAfterSemicolon() throws(RequirementError) -> Marker {
        position += 1  // ;
        var parser = MarkerParser(text, from: position)
        do throws(MarkerError) {
            let marker = try parser.marker()
            parser.skipSpaces()
            guard parser.position == bytes.count else { throw parser.error("Expected end of dependency specifier") }
            return marker
        } catch {
            position = parser.position
            throw fail(error.reason)
        }
    }
}
