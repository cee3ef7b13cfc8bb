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

    /// The filters of a model's versions list (`VersionFilter.parse`: `state`, `since`, …).
    static func versionFilter(_ request: Request) throws(VesselError) -> VersionFilter {
        try VersionFilter.parse(values(request))
    }

    /// `?search=&owner=&tag=&sort=` of the models list.
    static func modelQuery(_ request: Request) throws(VesselError) -> ModelQuery {
        try ModelQuery.parse(values(request))
    }

    /// `?model_search=` and the version filters of `GET /api/v1/versions`.
    static func versionSearch(_ request: Request) throws(VesselError) -> VersionSearch {
        try VersionSearch.parse(values(request))
    }

    /// `?actor=&action=` of the audit listings (an action is a name, `model.push`, or a family,
    /// `deployment`), oldest first, of `model` when given.
    static func auditFilter(_ request: Request, model: ModelName?) throws(VesselError) -> AuditFilter {
        let query = request.uri.queryParameters
        let actor = query.get("actor"), action = query.get("action")
        for (name, value) in [("actor", actor), ("action", action)] where (value?.utf8.count ?? 0) > 200 {
            throw .invalidArgument("\(name) is longer than 200 bytes")
        }
        return AuditFilter(model: model, actor: actor, action: action)
    }

    /// Every value given for a parameter, percent-decoded, in order.
    static func values(_ request: Request) -> (String) -> [String] {
        let query = request.uri.queryParameters
        return { query.getAll($0) }
    }
}
