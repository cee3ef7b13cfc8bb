import Foundation
import Hummingbird
import VesselCore
import VesselMetadata

/// Renders a UI page inside the layout, and the small helpers every page shares.
struct UIPage: Sendable {
    let renderer: UIRenderer
    let assets: UIAssets
    let session: UISession?

    func response(_ template: String, title: String, _ values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        var values = values
        values["csrf"] = session?.csrf ?? values["csrf"] ?? ""
        let body = renderer.render(template, values)
        let html = renderer.render("layout", [
            "title": title, "css": assets.stylesheet.path, "body": body,
            "user": session?.principal.name ?? false, "csrf": session?.csrf ?? "",
        ])
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// 303 See Other: after a form, the browser asks for the page with GET.
    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// Percent-encodes a query value.
    static func query(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// A path to return to after signing in: only a path of the UI, never another site.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/ui/"), !next.hasPrefix("//"), !next.contains("\\"), !next.contains("://") else { return "/ui/models" }
        return next
    }

    /// `a=1&b=x+y` → `["a": "1", "b": "x y"]`; the first of repeated names wins.
    static func decodeForm(_ body: String) -> [String: String] {
        var values: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard let name = parts.first else { continue }
            let key = decode(name)
            if values[key] == nil { values[key] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return values
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }

    /// 1536 → "1.5 KiB".
    static func bytes(_ value: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var size = Double(value), unit = 0
        while size >= 1024, unit < units.count - 1 { size /= 1024; unit += 1 }
        return unit == 0 ? "\(value) B" : "\(String(format: "%.1f", size)) \(units[unit])"
    }

    /// 7_000_000_000 → "7.0B"; below a thousand, the number.
    static func count(_ value: UInt64) -> String {
        switch value {
        case 1_000_000_000...: String(format: "%.1fB", Double(value) / 1e9)
        case 1_000_000...: String(format: "%.1fM", Double(value) / 1e6)
        case 1_000...: String(format: "%.1fK", Double(value) / 1e3)
        default: String(value)
        }
    }

    /// A random value for session ids and form tokens: 256 bits, base64url.
    static func randomToken() -> String {
        String(Tokens.generate().dropFirst(4))
    }
}
