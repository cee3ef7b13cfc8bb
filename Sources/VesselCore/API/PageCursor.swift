import Foundation

/// The `next_cursor` of a list page: the last key of the page, base64url-encoded. One codec
/// for every list, whether the store pages it in SQL or the server pages it in memory.
public enum PageCursor {
    public static func encode(_ key: String) -> String {
        Data(key.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// - Throws: `invalid_argument` for text this codec did not make.
    public static func decode(_ cursor: String) throws(VesselError) -> String {
        var text = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text), let key = String(data: data, encoding: .utf8) else {
            throw .invalidArgument("the paging cursor is not one this server issued")
        }
        return key
    }

    /// A page size within 1…1000.
    public static func clamp(_ limit: Int) -> Int { min(max(limit, 1), 1000) }
}
