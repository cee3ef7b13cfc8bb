import Foundation
import Hummingbird
import VesselCore

/// Pages a list the store answers whole — principals, tokens, grants, keys, aliases,
/// webhooks: tens to hundreds of rows — so that every list route takes `?limit=&cursor=` and
/// answers `{"items", "next_cursor"}` (docs/api.md, "Conventions").
///
/// Items are put in the order of `key`, which must be unique per item; the cursor is the last
/// key of a page, base64url-encoded, and the next page starts after it, so an item added or
/// removed meanwhile never shifts a page boundary. The lists the store pages itself (models,
/// versions, audit) keep their own cursors.
enum ListPaging {
    static func page<Item: Codable & Sendable>(_ items: [Item], _ request: Request, descending: Bool = false,
                                               key: (Item) -> String) throws -> Page<Item> {
        let limit = try Query.limit(request)
        let after = try Query.cursor(request).map(decode)
        let keyed = items.map { (key: key($0), item: $0) }
            .sorted { descending ? $0.key > $1.key : $0.key < $1.key }
        let rest = after.map { last in keyed.drop { descending ? $0.key >= last : $0.key <= last } } ?? keyed[...]
        let page = rest.prefix(limit)
        let next = rest.count > limit ? page.last.map { encode($0.key) } : nil
        return Page(items: page.map(\.item), nextCursor: next)
    }

    /// Sort keys joined: a separator below every printable character keeps the order of the parts.
    static func key(_ parts: String...) -> String { parts.joined(separator: "\u{1}") }

    private static func encode(_ key: String) -> String {
        Data(key.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    private static func decode(_ cursor: String) throws -> String {
        var text = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        guard let data = Data(base64Encoded: text), let key = String(data: data, encoding: .utf8) else {
            throw VesselError.invalidArgument("cursor is not one this list gave out")
        }
        return key
    }
}
