import Foundation

/// One `-----BEGIN LABEL----- … -----END LABEL-----` block of a PEM file.
///
/// Parsing is strict about structure (matching BEGIN/END labels, base64 body)
/// and tolerant about what surrounds blocks (comments, CRLF line ends), as
/// OpenSSL is. Encapsulated headers (`Proc-Type: 4,ENCRYPTED`) are reported so
/// the caller can refuse legacy-encrypted keys.
struct PEMBlock: Equatable, Sendable {
    /// Largest PEM text accepted; real keys are a few hundred bytes.
    static let maxTextBytes = 64 * 1024

    var label: String
    var der: [UInt8]
    var hasHeaders: Bool

    enum ParseError: Error, Equatable {
        case tooLarge
        case noBlock
        case unterminated(String)
        case badBase64(String)
    }

    /// Every block of `text`, in order.
    static func parseAll(_ text: String) throws(ParseError) -> [PEMBlock] {
        guard text.utf8.count <= maxTextBytes else { throw .tooLarge }
        var blocks: [PEMBlock] = []
        var current: (label: String, body: String, headers: Bool)?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if let open = current {
                if line.hasPrefix("-----END "), line.hasSuffix("-----") {
                    let label = String(line.dropFirst("-----END ".count).dropLast(5))
                    guard label == open.label else { throw .unterminated(open.label) }
                    guard !open.body.isEmpty, let data = Data(base64Encoded: open.body) else {
                        throw .badBase64(open.label)
                    }
                    blocks.append(PEMBlock(label: label, der: Array(data), hasHeaders: open.headers))
                    current = nil
                } else if line.contains(":") {
                    current?.headers = true
                } else if !line.isEmpty {
                    current?.body += line
                }
            } else if line.hasPrefix("-----BEGIN "), line.hasSuffix("-----") {
                current = (String(line.dropFirst("-----BEGIN ".count).dropLast(5)), "", false)
            }
        }
        if let open = current { throw .unterminated(open.label) }
        guard !blocks.isEmpty else { throw .noBlock }
        return blocks
    }

    /// The text of a PEM file, read up to ``maxTextBytes`` (+1 to detect larger files).
    /// - Throws: ``KeyError/unreadableKeyFile(path:reason:)``.
    static func readText(atPath path: String) throws(KeyError) -> String {
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxTextBytes + 1) ?? Data()
        } catch {
            throw .unreadableKeyFile(path: path, reason: error.localizedDescription)
        }
        guard data.count <= maxTextBytes else {
            throw .unreadableKeyFile(path: path, reason: "larger than \(maxTextBytes) bytes; not a PEM key")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// `der` rendered the way OpenSSL writes PEM: 64-column base64 lines, each ending in `\n`.
    static func render(label: String, der: [UInt8]) -> String {
        let base64 = Data(der).base64EncodedString()
        var out = "-----BEGIN \(label)-----\n"
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            out += base64[index..<end]
            out += "\n"
            index = end
        }
        out += "-----END \(label)-----\n"
        return out
    }
}

extension PEMBlock.ParseError {
    var detail: String {
        switch self {
        case .tooLarge: "larger than \(PEMBlock.maxTextBytes) bytes"
        case .noBlock: "no PEM block found"
        case .unterminated(let label): "the \(label) block has no matching END line"
        case .badBase64(let label): "the \(label) block is not valid base64"
        }
    }
}
