import Foundation

/// The order of a model search: `name` (owner, then name, ascending), `created` and `updated`
/// (newest first, ties by owner and name).
public enum ModelSort: String, Sendable, CaseIterable, Equatable {
    case name, created, updated
}

/// `GET /api/v1/models?search=&owner=&tag=&sort=` (docs/search.md). Parsed once here, by the
/// server from the query string and by the CLI from its flags, so both refuse the same input
/// with the same message, naming the parameter.
public struct ModelQuery: Sendable, Equatable {
    /// A case-insensitive substring of `owner/name` or of the description.
    public var search: String?
    public var owner: String?
    /// Exact tags; a model must carry every one.
    public var tags: [String]
    public var sort: ModelSort

    public init(search: String? = nil, owner: String? = nil, tags: [String] = [], sort: ModelSort = .name) {
        self.search = search
        self.owner = owner
        self.tags = tags
        self.sort = sort
    }

    public static let maxSearchLength = 256
    public static let maxTags = 16

    /// Reads the parameters from `values` (every value given for a name, in order).
    /// - Throws: `invalid_argument` naming the parameter.
    public static func parse(_ values: (String) -> [String]) throws(VesselError) -> ModelQuery {
        var query = ModelQuery()
        if let search = values("search").last, !search.isEmpty {
            guard search.count <= maxSearchLength else { throw .invalidArgument("search must be at most \(maxSearchLength) characters") }
            query.search = search
        }
        if let owner = values("owner").last {
            guard NameRules.isValidModelPart(owner) else { throw .invalidArgument("owner '\(owner)' is not a valid owner name (1-64 characters of a-z, 0-9, '.', '_' or '-')") }
            query.owner = owner
        }
        let tags = values("tag")
        guard tags.count <= maxTags else { throw .invalidArgument("tag may be given at most \(maxTags) times") }
        for tag in tags { try ModelTag.validate(tag, parameter: "tag") }
        query.tags = tags
        if let sort = values("sort").last {
            guard let value = ModelSort(rawValue: sort) else {
                throw .invalidArgument("sort '\(sort)' is not one of \(ModelSort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            query.sort = value
        }
        return query
    }

    /// The query-string pairs `parse` reads back.
    public var queryItems: [(String, String)] {
        var items: [(String, String)] = []
        if let search { items.append(("search", search)) }
        if let owner { items.append(("owner", owner)) }
        items += tags.map { ("tag", $0) }
        if sort != .name { items.append(("sort", sort.rawValue)) }
        return items
    }
}

/// The rule for a model tag: 1 to `Limits.tag` UTF-8 bytes, no control characters.
public enum ModelTag {
    public static func validate(_ tag: String, parameter: String) throws(VesselError) {
        guard !tag.isEmpty, tag.utf8.count <= Limits.tag, !tag.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidArgument("\(parameter) must be 1-\(Limits.tag) bytes without control characters")
        }
    }
}

/// Filters of a versions list (`GET …/models/:owner/:name/versions`) and of the search across
/// models (`GET /api/v1/versions`). Every filter narrows; an empty filter lists every version
/// that is ready, quarantined or archived.
public struct VersionFilter: Sendable, Equatable {
    public var minParameters: UInt64?
    public var maxParameters: UInt64?
    public var dtype: String?
    /// Empty: ready, quarantined and archived.
    public var states: [VersionState]
    /// true: only versions an alias points at; false: only those none points at.
    public var aliased: Bool?
    /// Created at or after (microseconds since the epoch).
    public var since: Int64?
    /// Created before (microseconds since the epoch).
    public var until: Int64?
    public var creator: String?
    /// true: only versions with at least one signature; false: only unsigned ones.
    public var signed: Bool?
    /// Only versions holding a file with this content.
    public var digest: Digest?

    public init(minParameters: UInt64? = nil, maxParameters: UInt64? = nil, dtype: String? = nil, states: [VersionState] = [],
                aliased: Bool? = nil, since: Int64? = nil, until: Int64? = nil, creator: String? = nil, signed: Bool? = nil, digest: Digest? = nil) {
        self.minParameters = minParameters
        self.maxParameters = maxParameters
        self.dtype = dtype
        self.states = states
        self.aliased = aliased
        self.since = since
        self.until = until
        self.creator = creator
        self.signed = signed
        self.digest = digest
    }

    /// The states a list may ask for; pending drafts and deleted tombstones are never listed.
    public static let listableStates: [VersionState] = [.ready, .quarantined, .archived]

    /// Reads `min_parameters`, `max_parameters`, `dtype`, `state` (comma-separated or
    /// repeated), `aliased`, `since`, `until` (RFC 3339), `creator`, `signed` and `digest`.
    /// - Throws: `invalid_argument` naming the parameter.
    public static func parse(_ values: (String) -> [String]) throws(VesselError) -> VersionFilter {
        func count(_ key: String) throws(VesselError) -> UInt64? {
            guard let text = values(key).last else { return nil }
            guard let value = UInt64(text), value <= UInt64(Int64.max) else { throw .invalidArgument("\(key) must be a non-negative integer") }
            return value
        }
        func flag(_ key: String) throws(VesselError) -> Bool? {
            guard let text = values(key).last else { return nil }
            switch text {
            case "true", "1": return true
            case "false", "0": return false
            default: throw .invalidArgument("\(key) must be true or false")
            }
        }
        func time(_ key: String) throws(VesselError) -> Int64? {
            guard let text = values(key).last else { return nil }
            guard let date = Timestamp.parse(text) else {
                throw .invalidArgument("\(key) '\(text)' is not an RFC 3339 time such as 2026-12-01T00:00:00Z")
            }
            return Timestamp.micros(date)
        }
        var filter = VersionFilter(minParameters: try count("min_parameters"), maxParameters: try count("max_parameters"))
        if let min = filter.minParameters, let max = filter.maxParameters, min > max {
            throw .invalidArgument("min_parameters (\(min)) is above max_parameters (\(max))")
        }
        if let dtype = values("dtype").last {
            guard !dtype.isEmpty, dtype.count <= 16, dtype.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw .invalidArgument("dtype must be a safetensors dtype such as BF16 or F32")
            }
            filter.dtype = dtype
        }
        for text in values("state").flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            guard let state = VersionState(rawValue: String(text)), listableStates.contains(state) else {
                throw .invalidArgument("state '\(text)' is not one of \(listableStates.map(\.rawValue).joined(separator: ", "))")
            }
            if !filter.states.contains(state) { filter.states.append(state) }
        }
        filter.aliased = try flag("aliased")
        filter.signed = try flag("signed")
        filter.since = try time("since")
        filter.until = try time("until")
        if let since = filter.since, let until = filter.until, since >= until {
            throw .invalidArgument("since must be before until")
        }
        if let creator = values("creator").last {
            guard !creator.isEmpty, creator.count <= 256 else { throw .invalidArgument("creator must be a principal name") }
            filter.creator = creator
        }
        if let text = values("digest").last {
            do { filter.digest = try Digest(text) } catch { throw .invalidArgument("digest '\(text)' must look like sha256:<64 lowercase hex>") }
        }
        return filter
    }

    /// The query-string pairs `parse` reads back.
    public var queryItems: [(String, String)] {
        var items: [(String, String)] = []
        if let minParameters { items.append(("min_parameters", String(minParameters))) }
        if let maxParameters { items.append(("max_parameters", String(maxParameters))) }
        if let dtype { items.append(("dtype", dtype)) }
        if !states.isEmpty { items.append(("state", states.map(\.rawValue).joined(separator: ","))) }
        if let aliased { items.append(("aliased", String(aliased))) }
        if let since { items.append(("since", Timestamp.rfc3339(micros: since))) }
        if let until { items.append(("until", Timestamp.rfc3339(micros: until))) }
        if let creator { items.append(("creator", creator)) }
        if let signed { items.append(("signed", String(signed))) }
        if let digest { items.append(("digest", digest.description)) }
        return items
    }
}

/// `GET /api/v1/versions`: versions of every model the caller may read, newest first.
public struct VersionSearch: Sendable, Equatable {
    /// A case-insensitive substring of the model's `owner/name` or description.
    public var modelSearch: String?
    public var filter: VersionFilter

    public init(modelSearch: String? = nil, filter: VersionFilter = VersionFilter()) {
        self.modelSearch = modelSearch
        self.filter = filter
    }

    /// `model_search` and every `VersionFilter` parameter. - Throws: `invalid_argument`.
    public static func parse(_ values: (String) -> [String]) throws(VesselError) -> VersionSearch {
        var search = VersionSearch(filter: try VersionFilter.parse(values))
        if let text = values("model_search").last, !text.isEmpty {
            guard text.count <= ModelQuery.maxSearchLength else { throw .invalidArgument("model_search must be at most \(ModelQuery.maxSearchLength) characters") }
            search.modelSearch = text
        }
        return search
    }

    public var queryItems: [(String, String)] {
        (modelSearch.map { [("model_search", $0)] } ?? []) + filter.queryItems
    }
}

/// `PATCH /api/v1/models/:owner/:name`: fields left out are kept.
public struct UpdateModelRequest: Codable, Sendable, Equatable {
    public var description: String?
    public var addTags: [String]?
    public var removeTags: [String]?

    public init(description: String? = nil, addTags: [String]? = nil, removeTags: [String]? = nil) {
        self.description = description
        self.addTags = addTags
        self.removeTags = removeTags
    }

    enum CodingKeys: String, CodingKey {
        case description
        case addTags = "add_tags"
        case removeTags = "remove_tags"
    }
}

/// `PATCH /api/v1/models/:owner/:name/versions/:version`: a version's content never changes;
/// its description may.
public struct UpdateVersionRequest: Codable, Sendable, Equatable {
    public var description: String

    public init(description: String) { self.description = description }
}

extension UpdateModelRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(description, field: "description", max: Limits.description)
        try Limits.check(addTags, field: "add_tags", each: Limits.tag, count: Limits.tagsPerModel, element: "a tag")
        try Limits.check(removeTags, field: "remove_tags", each: Limits.tag, count: Limits.tagsPerModel, element: "a tag")
        for tag in (addTags ?? []) + (removeTags ?? []) { try ModelTag.validate(tag, parameter: "a tag") }
    }
}

extension UpdateVersionRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(description, field: "description", max: Limits.description)
    }
}
