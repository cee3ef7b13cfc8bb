import Hummingbird
import VesselCore
import VesselMetadata

/// Query parameters the list routes share: paging (`?limit=&cursor=`) and the versions filter.
enum Query {
    static func limit(_ request: Request) throws(VesselError) -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return 100 }
        guard let value = Int(text), value > 0, value <= Limits.pageSize else {
            throw .invalidArgument("limit must be a number from 1 to \(Limits.pageSize)")
        }
        return value
    }

    static func cursor(_ request: Request) -> String? {
        request.uri.queryParameters.get("cursor")
    }

    /// `?min_parameters=&max_parameters=&dtype=` of the versions list.
    static func versionFilter(_ request: Request) throws(VesselError) -> VersionFilter {
        let query = request.uri.queryParameters
        func count(_ key: String) throws(VesselError) -> UInt64? {
            guard let text = query.get(key) else { return nil }
            guard let value = UInt64(text) else { throw .invalidArgument("\(key) must be a non-negative integer") }
            return value
        }
        let dtype = query.get("dtype")
        if let dtype, dtype.isEmpty || !dtype.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
            throw .invalidArgument("dtype must be a safetensors dtype such as BF16 or F32")
        }
        return VersionFilter(minParameters: try count("min_parameters"), maxParameters: try count("max_parameters"), dtype: dtype)
    }
}
