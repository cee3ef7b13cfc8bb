import Foundation

/// How a client certificate is named when it stands for a principal (`vessel principal add
/// --cert-subject`, docs/tls.md): its subject as RFC 4514 text, most specific first
/// (`CN=ci-bot,O=Example`), or one subject alternative name written `URI:…` or `DNS:…`.
public enum CertificateSubject {
    /// The form stored and compared: attribute types upper-cased, no spaces around `,` and `=`
    /// in a subject; a SAN keeps its value as given, with its prefix upper-cased.
    /// - Throws: `invalid_argument` for text that is neither `TYPE=value[,…]` nor `URI:`/`DNS:`.
    public static func normalize(_ text: String) throws(VesselError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for prefix in ["URI:", "DNS:"] where trimmed.uppercased().hasPrefix(prefix) {
            let value = trimmed.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty else { throw .invalidArgument("'\(text)': \(prefix) needs a value") }
            return prefix + (prefix == "DNS:" ? value.lowercased() : value)
        }
        var parts: [String] = []
        for part in splitUnescaped(trimmed) {
            guard let eq = part.firstIndex(of: "=") else {
                throw .invalidArgument("'\(text)' is not a certificate subject such as 'CN=ci-bot,O=Example', nor 'URI:…' or 'DNS:…'")
            }
            let type = part[..<eq].trimmingCharacters(in: .whitespaces).uppercased()
            let value = part[part.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard !type.isEmpty, !value.isEmpty else {
                throw .invalidArgument("'\(text)': every part of a subject is TYPE=value, e.g. CN=ci-bot")
            }
            parts.append("\(type)=\(value)")
        }
        guard !parts.isEmpty else { throw .invalidArgument("a certificate subject cannot be empty") }
        return parts.joined(separator: ",")
    }

    /// Splits at commas not escaped with a backslash (RFC 4514).
    static func splitUnescaped(_ text: String) -> [String] {
        var parts: [String] = [], current = "", escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                current.append(character)
                escaped = true
            } else if character == "," {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }
}
