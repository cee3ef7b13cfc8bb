import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The canonical forms SigV4 signs.
extension SigV4Signer {
    /// Each segment of a decoded path percent-encoded once; `/` kept; no normalization.
    static func canonicalURI(_ path: String) -> String {
        let encoded = uriEncode(path, keepSlash: true)
        return encoded.hasPrefix("/") ? encoded : "/" + encoded
    }

    /// Decoded parameters, encoded and sorted by key, then value.
    static func canonicalQuery(_ query: [(String, String)]) -> String {
        let encoded: [(key: String, value: String)] = query.map { pair in
            (key: uriEncode(pair.0, keepSlash: false), value: uriEncode(pair.1, keepSlash: false))
        }
        let sorted = encoded.sorted { a, b in a.key == b.key ? a.value < b.value : a.key < b.key }
        return sorted.map { pair in pair.key + "=" + pair.value }.joined(separator: "&")
    }

    /// `name:value\n` lines (names lowercased, values trimmed with inner runs of spaces
    /// collapsed, repeated names joined with commas) sorted by name, and the signed-header list.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (String, String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let trimmed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                .trimmingCharacters(in: .whitespaces)
            merged[name.lowercased(), default: []].append(trimmed)
        }
        let names = merged.keys.sorted()
        let lines = names.map { "\($0):\(merged[$0, default: []].joined(separator: ","))\n" }.joined()
        return (lines, names.joined(separator: ";"))
    }

    /// RFC 3986 percent-encoding: only `A-Z a-z 0-9 - . _ ~` (and `/` when asked) stay as they are.
    static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepSlash:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `YYYYMMDDTHHMMSSZ` in UTC.
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }
}
