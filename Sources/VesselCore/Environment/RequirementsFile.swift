/// A `requirements.txt` as pip reads it: comments (`#` at the start or after whitespace),
/// blank lines, backslash continuations, PEP 508 requirements with per-requirement options
/// (`--hash=sha256:…`, `--config-settings`, `--global-option`), and pip's own lines.
///
/// Pip's references (`-r`, `-c`, `-e`), its index and install options (`--index-url`, …),
/// direct references (`name @ url`) and bare URLs or archive paths are kept as entries that
/// are not checked by version. Anything else is an error naming the file and line.
public struct RequirementsFile: Sendable {
    public struct Entry: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable, Codable {
            /// A PEP 508 requirement (with `url` set for `name @ url`).
            case requirement
            /// `-r`, `-c`, `-e`, a bare URL or archive path: what it names is not followed.
            case reference
            /// A pip option that says where or how to install (`--index-url`, `--pre`, …).
            case option
        }

        /// The physical line the entry starts on (from 1).
        public let line: Int
        /// The logical line, continuations joined and comment removed.
        public let text: String
        public let kind: Kind
        public let requirement: Requirement?
        /// `--hash` values, `algorithm:hex`.
        public let hashes: [String]
    }

    public let fileName: String
    public let entries: [Entry]

    /// Options taking a value, short and long spellings, and whether they are references.
    private static let valueOptions: [(short: String?, long: String, reference: Bool)] = [
        ("-r", "--requirement", true), ("-c", "--constraint", true), ("-e", "--editable", true),
        ("-i", "--index-url", false), (nil, "--extra-index-url", false), ("-f", "--find-links", false),
        (nil, "--trusted-host", false), (nil, "--only-binary", false), (nil, "--no-binary", false),
        (nil, "--use-feature", false), (nil, "--config-settings", false),
    ]
    private static let flagOptions: Set<String> = ["--no-index", "--pre", "--prefer-binary", "--require-hashes"]
    private static let hashLengths = ["sha256": 64, "sha384": 96, "sha512": 128]

    /// - Throws: `RequirementsFileError` for the first line that is none of the above.
    public init(text: String, fileName: String) throws(RequirementsFileError) {
        self.fileName = fileName
        var entries: [Entry] = []
        for (line, logical) in Self.logicalLines(text) {
            let content = Self.removingComment(logical).trimmingSpaces
            if content.isEmpty { continue }
            do throws(LineError) {
                entries.append(try Self.entry(content, line: line))
            } catch {
                throw RequirementsFileError(fileName: fileName, line: line, reason: error.reason)
            }
        }
        self.entries = entries
    }

    /// Physical lines joined where one ends in `\` (a comment line never continues), each with
    /// the number of its first physical line.
    static func logicalLines(_ text: String) -> [(Int, String)] {
        var result: [(Int, String)] = []
        var pending: [String] = []
        var pendingStart = 0
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, raw) in lines.enumerated() {
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            let number = index + 1
            if line.hasSuffix("\\") && !isCommentLine(line) {
                if pending.isEmpty { pendingStart = number }
                pending.append(strippingBackslashes(line))
                continue
            }
            if !pending.isEmpty {
                pending.append(isCommentLine(line) ? " " + line : line)
                result.append((pendingStart, pending.joined()))
                pending = []
            } else {
                result.append((number, line))
            }
        }
        if !pending.isEmpty { result.append((pendingStart, pending.joined())) }
        return result
    }

    /// `line` without backslashes at either end (pip's `line.strip("\\")`).
    private static func strippingBackslashes(_ line: String) -> String {
        var bytes = Array(line.utf8)[...]
        while bytes.first == 0x5C { bytes.removeFirst() }
        while bytes.last == 0x5C { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `#` at the start, after optional whitespace.
    static func isCommentLine(_ line: String) -> Bool {
        line.drop(while: { $0 == " " || $0 == "\t" }).first == "#"
    }

    /// The line up to a `#` that starts it or follows whitespace.
    static func removingComment(_ line: String) -> String {
        let bytes = Array(line.utf8)
        for (i, byte) in bytes.enumerated() where byte == 0x23 && (i == 0 || VersionScanner.isSpace(bytes[i - 1])) {
            return String(decoding: bytes[0..<i], as: UTF8.self)
        }
        return line
    }

    private static func entry(_ content: String, line: Int) throws(LineError) -> Entry {
        // pip splits on single spaces: the requirement is the tokens before the first option.
        let tokens = content.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let firstOption = tokens.firstIndex(where: { $0.hasPrefix("-") }) ?? tokens.count
        let argument = tokens[..<firstOption].joined(separator: " ").trimmingSpaces
        let options = tokens[firstOption...].filter { !$0.isEmpty }
        if argument.isEmpty { return try optionEntry(options, content: content, line: line) }

        var hashes: [String] = []
        var i = 0
        while i < options.count {
            let (name, inlineValue) = split(options[i])
            guard ["--hash", "--config-settings", "--global-option"].contains(name) else {
                throw LineError("'\(name)' is not an option pip takes after a requirement (only --hash, --config-settings, --global-option)")
            }
            var value = inlineValue
            if value == nil {
                i += 1
                guard i < options.count else { throw LineError("\(name) needs a value") }
                value = options[i]
            }
            if name == "--hash", let value { hashes.append(try checkedHash(value)) }
            i += 1
        }
        do throws(RequirementError) {
            return Entry(line: line, text: content, kind: .requirement, requirement: try Requirement(argument), hashes: hashes)
        } catch {
            if looksLikeReference(argument) {
                return Entry(line: line, text: content, kind: .reference, requirement: nil, hashes: hashes)
            }
            throw LineError(error.description)
        }
    }

    private static func optionEntry(_ options: [String], content: String, line: Int) throws(LineError) -> Entry {
        guard let first = options.first else { throw LineError("empty line") }
        let (name, inlineValue) = split(first)
        if flagOptions.contains(name) {
            guard options.count == 1, inlineValue == nil else { throw LineError("'\(name)' takes no value") }
            return Entry(line: line, text: content, kind: .option, requirement: nil, hashes: [])
        }
        for option in valueOptions {
            var value: String?
            if name == option.long {
                value = inlineValue ?? (options.count > 1 ? options[1...].joined(separator: " ") : nil)
            } else if let short = option.short, first.hasPrefix(short) {
                let attached = String(first.dropFirst(short.count))
                value = attached.isEmpty ? (options.count > 1 ? options[1...].joined(separator: " ") : nil) : attached
            } else {
                continue
            }
            guard let value, !value.trimmingSpaces.isEmpty else { throw LineError("\(option.long) needs a value") }
            return Entry(line: line, text: content, kind: option.reference ? .reference : .option, requirement: nil, hashes: [])
        }
        throw LineError("'\(name)' is not a pip option this reader knows (a requirement line starts with a package name)")
    }

    /// `--name=value` → (`--name`, `value`); `--name` → (`--name`, nil).
    private static func split(_ option: String) -> (String, String?) {
        guard option.hasPrefix("--"), let eq = option.firstIndex(of: "=") else { return (option, nil) }
        return (String(option[..<eq]), String(option[option.index(after: eq)...]))
    }

    private static func checkedHash(_ value: String) throws(LineError) -> String {
        let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let length = hashLengths[parts[0].lowercased()] else {
            throw LineError("'--hash=\(value)': the algorithm must be sha256, sha384 or sha512, written algorithm:hex")
        }
        guard parts[1].utf8.count == length, parts[1].utf8.allSatisfy({ VersionScanner.isDigit($0) || (VersionScanner.lower($0) >= 0x61 && VersionScanner.lower($0) <= 0x66) }) else {
            throw LineError("'--hash=\(value)': a \(parts[0]) digest is \(length) hex digits")
        }
        return parts[0].lowercased() + ":" + parts[1].lowercased()
    }

    /// A URL or a path to an archive or folder, which pip installs without a name.
    static func looksLikeReference(_ text: String) -> Bool {
        if text.contains(" ") { return false }
        if text.contains("://") || text.hasPrefix("./") || text.hasPrefix("../") || text.hasPrefix("/") || text.hasPrefix("~/") { return true }
        return [".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2"].contains { text.lowercased().hasSuffix($0) }
    }

    struct LineError: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}

/// A line of a requirements or freeze file that cannot be read: `file:line: reason`.
public struct RequirementsFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let fileName: String
    public let line: Int
    public let reason: String

    public init(fileName: String, line: Int, reason: String) {
        self.fileName = fileName
        self.line = line
        self.reason = reason
    }

    public var description: String { "\(fileName):\(line): \(reason)" }
}
