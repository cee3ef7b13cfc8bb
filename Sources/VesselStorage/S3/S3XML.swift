import Foundation

/// A small, strict-enough reader for the XML S3 answers with (`ListBucketResult`, `Error`,
/// `InitiateMultipartUploadResult`, …): elements, text and the five entities plus numeric
/// references. Attributes, comments, processing instructions and declarations are skipped.
/// Namespaces are not interpreted: element names are compared as written.
struct S3XML: Sendable {
    var name: String
    var text: String = ""
    var children: [S3XML] = []

    /// The first child element called `name`.
    func child(_ name: String) -> S3XML? { children.first { $0.name == name } }
    /// Every child element called `name`.
    func all(_ name: String) -> [S3XML] { children.filter { $0.name == name } }
    /// The text of the first child element called `name`.
    func value(_ name: String) -> String? { child(name)?.text }

    enum ParseError: Error { case malformed(String) }

    /// The document's root element.
    static func parse(_ bytes: [UInt8]) throws -> S3XML {
        var stack: [S3XML] = [S3XML(name: "#document")]
        var i = 0
        let n = bytes.count
        func indexOf(_ seq: [UInt8], from start: Int) -> Int? {
            guard seq.count <= n else { return nil }
            var j = start
            while j + seq.count <= n {
                if bytes[j] == seq[0] && Array(bytes[j..<j + seq.count]) == seq { return j }
                j += 1
            }
            return nil
        }
        while i < n {
            if bytes[i] == UInt8(ascii: "<") {
                if i + 1 < n && (bytes[i + 1] == UInt8(ascii: "?")) {
                    guard let end = indexOf(Array("?>".utf8), from: i) else { throw ParseError.malformed("unterminated declaration") }
                    i = end + 2
                } else if i + 3 < n && bytes[i + 1] == UInt8(ascii: "!") && bytes[i + 2] == UInt8(ascii: "-") {
                    guard let end = indexOf(Array("-->".utf8), from: i) else { throw ParseError.malformed("unterminated comment") }
                    i = end + 3
                } else if i + 1 < n && bytes[i + 1] == UInt8(ascii: "!") {
                    guard let end = indexOf([UInt8(ascii: ">")], from: i) else { throw ParseError.malformed("unterminated declaration") }
                    i = end + 1
                } else {
                    guard let end = indexOf([UInt8(ascii: ">")], from: i) else { throw ParseError.malformed("unterminated tag") }
                    var inner = Array(bytes[(i + 1)..<end])
                    i = end + 1
                    if inner.first == UInt8(ascii: "/") {
                        let name = String(decoding: inner.dropFirst(), as: UTF8.self).trimmingSpaces
                        guard stack.count > 1, let open = stack.popLast(), open.name == name else {
                            throw ParseError.malformed("unexpected </\(name)>")
                        }
                        stack[stack.count - 1].children.append(open)
                        continue
                    }
                    let selfClosing = inner.last == UInt8(ascii: "/")
                    if selfClosing { inner.removeLast() }
                    let nameEnd = inner.firstIndex { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D } ?? inner.count
                    let element = S3XML(name: String(decoding: inner[0..<nameEnd], as: UTF8.self))
                    if selfClosing {
                        stack[stack.count - 1].children.append(element)
                    } else {
                        stack.append(element)
                    }
                }
            } else {
                let end = indexOf([UInt8(ascii: "<")], from: i) ?? n
                stack[stack.count - 1].text += decodeEntities(Array(bytes[i..<end]))
                i = end
            }
        }
        guard stack.count == 1, let root = stack[0].children.first else { throw ParseError.malformed("no root element") }
        return root
    }

    static func decodeEntities(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "lt": out += "<"
            case "gt": out += ">"
            case "amp": out += "&"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                var scalar: Unicode.Scalar?
                if entity.hasPrefix("#x"), let v = UInt32(entity.dropFirst(2), radix: 16) { scalar = Unicode.Scalar(v) }
                else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()) { scalar = Unicode.Scalar(v) }
                out += scalar.map { String(Character($0)) } ?? "&\(entity);"
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }

    /// Escapes text for an element body.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\n" || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\n" || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
