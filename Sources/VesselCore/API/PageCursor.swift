import Foundation

/// The `next_cursor` of a list page: the last key of the page, sealed with an HMAC over the
/// list it belongs to and the key, base64url-encoded. One codec for every list, whether the
/// store pages it in SQL or the server pages it in memory.
///
/// A cursor is opaque and tamper-proof: only a server holding the registry's cursor key (kept
/// in the metadata database, so every replica shares it) makes or accepts one, and a cursor
/// works only on the list that issued it. VesselCore has no crypto, so the key's owner (the
/// metadata store) supplies the MAC.
public struct PageCursor: Sendable {
    /// HMAC-SHA256 of the bytes under the registry's cursor key: 32 bytes.
    public typealias MAC = @Sendable ([UInt8]) -> [UInt8]
    static let macLength = 32

    private let mac: MAC

    public init(mac: @escaping MAC) { self.mac = mac }

    /// The cursor after `key` on `list` (any name unique per list, such as its route's path).
    public func encode(_ key: String, list: String) -> String {
        let body = Array(key.utf8)
        return Data(body + seal(body, list: list)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The key a cursor made by `encode(_:list:)` for `list` names.
    /// - Throws: `invalid_argument` for text this server did not issue for `list` (forged,
    ///   altered, or from another list or registry).
    public func decode(_ cursor: String, list: String) throws(VesselError) -> String {
        var text = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text), data.count >= Self.macLength else { throw Self.foreign }
        let body = Array(data.dropLast(Self.macLength))
        let tag = Array(data.suffix(Self.macLength))
        let expected = seal(body, list: list)
        // Constant time: how much of a guessed tag matched must not show in the answer's timing.
        guard expected.count == tag.count, zip(expected, tag).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0,
              let key = String(validating: body, as: UTF8.self) else { throw Self.foreign }
        return key
    }

    /// A page size within 1…`Limits.pageSize`.
    public static func clamp(_ limit: Int) -> Int { min(max(limit, 1), Limits.pageSize) }

    private func seal(_ body: [UInt8], list: String) -> [UInt8] {
        // The list name cannot hold a NUL, so "list NUL key" is unambiguous.
        mac(Array(list.utf8) + [0] + body)
    }

    private static var foreign: VesselError { .invalidArgument("the paging cursor is not one this server issued") }
}

/// Where the registry's `PageCursor` comes from (the metadata store, which keeps its key).
public protocol PageCursorSource: Sendable {
    /// - Throws: when the key cannot be read or made.
    func pageCursor() async throws -> PageCursor
}
