import ArgumentParser
import VesselCore

/// `--limit` and `--cursor` of the search commands: without either every page is fetched,
/// with either one page (`--limit`, default 100) and its `next_cursor`.
struct PageOptions: ParsableArguments {
    @Option(help: "One page of at most this many items (1-\(Limits.pageSize)).") var limit: Int?
    @Option(help: "The next_cursor of the previous page.") var cursor: String?

    /// Every page (500 at a time), or the one page asked for.
    func fetch<Item: Codable & Sendable>(_ load: (Int, String?) async throws -> Page<Item>) async throws -> Page<Item> {
        if let limit, !(1...Limits.pageSize).contains(limit) {
            throw VesselError.invalidArgument("limit must be a number from 1 to \(Limits.pageSize)")
        }
        if limit != nil || cursor != nil { return try await load(limit ?? 100, cursor) }
        var all: [Item] = []
        var next: String?
        repeat {
            let page = try await load(500, next)
            all += page.items
            next = page.nextCursor
        } while next != nil
        return Page(items: all, nextCursor: nil)
    }

    func printNext<Item: Codable & Sendable>(_ page: Page<Item>) {
        if let next = page.nextCursor { Output.line("next page: --cursor \(next)") }
    }
}

/// The version filters of `vessel versions` and `vessel search versions`, read by
/// `VersionFilter.parse` exactly as the server reads its query, so a bad value exits 2
/// naming the parameter before anything is sent.
struct VersionFilterOptions: ParsableArguments {
    @Option(help: "Only versions in these states: ready, quarantined, archived (comma-separated or repeated).") var state: [String] = []
    @Flag(help: "Only versions an alias points at.") var alias = false
    @Option(help: "Only versions created at or after this RFC 3339 time.") var since: String?
    @Option(help: "Only versions created before this RFC 3339 time.") var until: String?
    @Option(help: "Only versions pushed by this principal.") var creator: String?
    @Flag(help: "Only versions with at least one signature.") var signed = false
    @Option(help: "Only versions with at least this many parameters.") var minParameters: String?
    @Option(help: "Only versions with at most this many parameters.") var maxParameters: String?
    @Option(help: "Only versions holding tensors of this dtype (e.g. BF16).") var dtype: String?

    var values: [String: [String]] {
        var values: [String: [String]] = ["state": state]
        if alias { values["aliased"] = ["true"] }
        if signed { values["signed"] = ["true"] }
        values["since"] = since.map { [$0] }
        values["until"] = until.map { [$0] }
        values["creator"] = creator.map { [$0] }
        values["min_parameters"] = minParameters.map { [$0] }
        values["max_parameters"] = maxParameters.map { [$0] }
        values["dtype"] = dtype.map { [$0] }
        return values
    }

    func parsed() throws(VesselError) -> VersionFilter {
        let values = values
        return try VersionFilter.parse { values[$0] ?? [] }
    }
}
