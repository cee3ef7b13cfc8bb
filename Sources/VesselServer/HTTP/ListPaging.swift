import Foundation
import Hummingbird
import VesselCore

/// Pages a list the store answers whole — principals, tokens, grants, keys, aliases,
/// webhooks: tens to hundreds of rows — so that every list route takes `?limit=&cursor=` and
/// answers `{"items", "next_cursor"}` (docs/api.md, "Conventions").
///
/// Items are put in the order of `key`, which must be unique per item; the cursor is the last
/// key of a page, sealed for the route's path (`PageCursor`), and the next page starts after
/// it, so an item added or removed meanwhile never shifts a page boundary. The lists the store
/// pages itself (models, versions, audit, delivery attempts) seal theirs with the same codec.
enum ListPaging {
    /// The registry's cursor codec, bound by `APIRoutes` around every handler. A task local
    /// rather than a parameter: a dozen list routes in as many controllers page through
    /// `page(_:_:key:)`, and none of them should have to carry the codec. Unbound, paging
    /// fails closed.
    @TaskLocal static var cursors: PageCursor?

    static func page<Item: Codable & Sendable>(_ items: [Item], _ request: Request, descending: Bool = false,
                                               key: (Item) -> String) throws -> Page<Item> {
        guard let cursors else { throw VesselError.internalError("this list has no paging cursor codec") }
        let list = request.uri.path
        let limit = try Query.limit(request)
        let after = try Query.cursor(request).map { cursor throws(VesselError) in try cursors.decode(cursor, list: list) }
        let keyed = items.map { (key: key($0), item: $0) }
            .sorted { descending ? $0.key > $1.key : $0.key < $1.key }
        let rest = after.map { last in keyed.drop { descending ? $0.key >= last : $0.key <= last } } ?? keyed[...]
        let page = rest.prefix(limit)
        let next = rest.count > limit ? page.last.map { cursors.encode($0.key, list: list) } : nil
        return Page(items: page.map(\.item), nextCursor: next)
    }

    /// Sort keys joined: a separator below every printable character keeps the order of the parts.
    static func key(_ parts: String...) -> String { parts.joined(separator: "\u{1}") }
}
