import Foundation
import Hummingbird
import VesselCore
import VesselMetadata

/// Webhooks with their delivery attempts, retention policies and holds, a model's alias
/// history, and the version page's checks, environment and lineage graph (issue 29, with the
/// pages issues 25 and 26 ask of the UI). Each reads through the same rules as its API route.
extension UIController {
    /// How many alias moves the model page shows; the alias history page shows more.
    static let modelPageMoves = 10
    static let historyPageMoves = 500
    /// Delivery attempts shown per webhook.
    static let attemptsShown = 10

    func registerAdminPages(_ routes: UIRoutes) {
        // Like `GET /api/v1/webhooks` (authenticated): each caller sees the subscriptions whose scope
        // it maintains (admin on `*`: all), a viewer none.
        routes.on(.get, "/ui/webhooks", .authenticated) { _, _, ui in try await webhooksPage(ui) }
        // Like `GET /api/v1/retention` and `/api/v1/holds` (read, registry-wide: a role on `*`).
        routes.on(.get, "/ui/retention", .read) { _, _, ui in try await retentionPage(ui) }
        // Like `GET /api/v1/models/:owner/:name/aliases/:alias/history` (read), for every alias at once.
        routes.on(.get, "/ui/models/:owner/:name/aliases", .read) { _, context, ui in
            let name = try Self.model(context)
            _ = try await store.model(name)
            var values = try await aliasMoveValues(name, limit: Self.historyPageMoves)
            values["model"] = name.description
            values["modelHref"] = "/ui/models/\(name)"
            return page(ui).response("aliasHistory", title: "Alias history of \(name)", values)
        }
    }

    func webhooksPage(_ ui: UIRequest) async throws -> Response {
        let caller = try ui.requireCaller()
        var items: [[String: Any]] = []
        for subscription in try await store.webhooks().sorted(by: { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }) {
            guard let role = try await store.role(of: caller.principal.name, onScope: subscription.filter.scope), role >= .maintainer else { continue }
            let attempts = try await store.deliveryAttempts(webhook: subscription.id, limit: Self.attemptsShown, cursor: nil).items
            let info = subscription.info
            items.append([
                "id": info.id, "url": info.url, "scope": info.scope, "events": info.events, "format": info.format.rawValue,
                "created": info.createdAt, "by": info.createdBy, "has_attempts": !attempts.isEmpty,
                "attempts": attempts.map { attempt -> [String: Any] in [
                    "at": attempt.at, "type": attempt.eventType, "event": attempt.eventId, "attempt": attempt.attempt,
                    "status": attempt.status, "class": attempt.status == "delivered" ? "ok" : "bad",
                    "code": attempt.responseCode.map(String.init) ?? "–", "latency": String(format: "%.1f ms", attempt.latencyMs),
                    "error": attempt.error ?? "",
                ] },
            ])
        }
        return page(ui).response("webhooks", title: "Webhooks", ["items": items])
    }

    func retentionPage(_ ui: UIRequest) async throws -> Response {
        let policies = try await store.retentionPolicies().sorted { $0.scope < $1.scope }
        let holds = try await store.holds().sorted { ($0.model, $0.version) < ($1.model, $1.version) }
        func d(_ seconds: Int64?) -> String { seconds.map(RetentionRules.text) ?? "–" }
        return page(ui).response("retention", title: "Retention", [
            "policies": policies.map { policy -> [String: Any] in [
                "scope": policy.scope, "keepLast": policy.keepLast.map(String.init) ?? "–", "keepFor": d(policy.keepFor),
                "quarantined": d(policy.deleteQuarantinedAfter), "drafts": d(policy.draftsExpireAfter),
                "updated": policy.updatedAt, "by": policy.updatedBy,
            ] },
            "holds": holds.map { hold -> [String: Any] in [
                "model": hold.model, "version": hold.version, "href": "/ui/models/\(hold.model)/versions/\(hold.version)",
                "reason": hold.reason, "created": hold.createdAt, "by": hold.createdBy,
            ] },
        ])
    }

    /// The newest alias moves of `model` as table rows (`moves`, `movesCaption`).
    func aliasMoveValues(_ model: ModelName, limit: Int) async throws -> [String: Any] {
        let moves = try await store.aliasMoves(model: model, limit: limit)
        return [
            "moves": moves.map { move -> [String: Any] in
                let from = move.entry.fromVersion.map { "version \($0)" }
                let to = move.entry.toVersion.map { "version \($0)" }
                let change = switch (from, to) {
                case let (from?, to?): "\(from) → \(to)"
                case let (nil, to?): "set to \(to)"
                case let (from?, nil): "removed from \(from)"
                case (nil, nil): move.entry.action
                }
                return ["time": move.entry.time, "alias": move.alias, "change": change, "actor": move.entry.actor, "reason": move.entry.reason ?? ""]
            },
            "movesCaption": moves.count == limit ? "The newest \(limit) alias moves" : "\(moves.count) alias move(s), newest first",
        ]
    }

    /// The model page's alias history, holds and governing retention policy.
    func modelAdminValues(_ model: ModelName, _ caller: Caller) async throws -> [String: Any] {
        var values = try await aliasMoveValues(model, limit: Self.modelPageMoves)
        values["historyHref"] = "/ui/models/\(model)/aliases"
        let holds = try await store.holds().filter { $0.model == model.description }.sorted { $0.version > $1.version }
        values["holds"] = holds.map { hold -> [String: Any] in [
            "version": hold.version, "href": "/ui/models/\(model)/versions/\(hold.version)",
            "reason": hold.reason, "created": hold.createdAt, "by": hold.createdBy,
        ] }
        values["policy"] = false
        if let policy = RetentionRules.governing(model, among: try await store.retentionPolicies()) {
            var rules: [String] = []
            if let n = policy.keepLast { rules.append("keep the newest \(n)") }
            if let s = policy.keepFor { rules.append("keep those younger than \(RetentionRules.text(s))") }
            if let s = policy.deleteQuarantinedAfter { rules.append("quarantined versions go after \(RetentionRules.text(s))") }
            if let s = policy.draftsExpireAfter { rules.append("drafts expire after \(RetentionRules.text(s))") }
            values["policy"] = ["scope": policy.scope, "text": rules.joined(separator: "; ")] as [String: Any]
        }
        values["registryReader"] = try await store.role(of: caller.principal.name, on: nil) != nil
        return values
    }

    /// The version page's checks, hold, environment and lineage graph.
    func versionProvenanceValues(_ model: ModelName, _ number: Int, _ caller: Caller) async throws -> [String: Any] {
        var values: [String: Any] = [:]
        values["checks"] = try await store.checkReports(model: model, version: number).map { check -> [String: Any] in
            let link = check.url.flatMap { url in url.lowercased().hasPrefix("https://") || url.lowercased().hasPrefix("http://") ? url : nil }
            return [
                "name": check.name, "status": check.status, "class": check.status == "passed" ? "ok" : "bad",
                "metrics": check.metrics.keys.sorted().map { key -> [String: Any] in ["key": key, "value": Self.metric(check.metrics[key] ?? 0)] },
                "reported": check.reportedAt, "by": check.reportedBy, "link": link ?? false, "url": check.url ?? "",
            ]
        }
        values["held"] = false
        if let hold = try await store.holds().first(where: { $0.model == model.description && $0.version == number }) {
            values["held"] = ["reason": hold.reason, "created": hold.createdAt, "by": hold.createdBy] as [String: Any]
        }
        let (run, environment) = try await store.versionLineage(model: model, version: number)
        values["run"] = run ?? false
        values["image"] = environment.image ?? false
        values["imageSource"] = environment.imageSource ?? "version"
        values["requirementsFile"] = environment.requirementsFile ?? (environment.requirementsText == nil ? false : "requirements.txt")
        values["requirementsSource"] = environment.requirementsSource ?? "version"
        values["requirements"] = (environment.requirements ?? []).map { entry -> [String: Any] in
            ["line": entry.line, "kind": entry.kind, "text": entry.text]
        }
        var graph = try await store.lineage(root: .version(model, number), down: false, depth: LineageController.maxDepth)
        let readable = try await store.readableScopes(of: caller.principal.name)
        let visible = Set(graph.nodes.filter { LineageController.covers(readable, $0.scope) }.map(\.id))
        graph.hidden = graph.nodes.count - visible.count
        graph.nodes = graph.nodes.filter { visible.contains($0.id) }
        graph.edges = graph.edges.filter { visible.contains($0.from) && visible.contains($0.to) }
        values["lineage"] = graph.nodes.count > 1 ? LineageDrawing(graph: graph, root: "version:\(model):\(number)").values(model: model, version: number) : false
        return values
    }

    /// 0.91 → "0.91"; 12.0 → "12".
    static func metric(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.6g", value)
    }
}


/// A lineage graph laid out in layers for an inline SVG (decision 0035): one column per depth,
/// the deepest (source data) on the left and the root on the right, so every edge points the
/// way data flowed; nodes in a column in the order the graph listed them. Labels are cut to fit
/// the box; the full text is in each node's `<title>` and in the table under the drawing.
struct LineageDrawing {
    static let boxWidth = 200, boxHeight = 46, columnGap = 50, rowGap = 18, margin = 12
    static let maxLabel = 26

    let graph: LineageGraph
    let root: String

    func values(model: ModelName, version: Int) -> [String: Any] {
        let depths = graph.nodes.map(\.depth)
        let deepest = depths.max() ?? 0
        var rows: [Int: Int] = [:]
        var positions: [String: (x: Int, y: Int)] = [:]
        var nodes: [[String: Any]] = []
        for node in graph.nodes {
            let column = deepest - node.depth
            let row = rows[column, default: 0]
            rows[column] = row + 1
            let x = Self.margin + column * (Self.boxWidth + Self.columnGap)
            let y = Self.margin + row * (Self.boxHeight + Self.rowGap)
            positions[node.id] = (x, y)
            let style: (fill: String, stroke: String) = switch node.kind {
            case "dataset": ("#e8f1fb", "#0b5cad")
            case "run": ("#fff4e0", "#8a4b00")
            case "version": ("#e6f4ea", "#14632f")
            default: ("#f4f6f8", "#4d5661")
            }
            var details: [String] = []
            if let uri = node.uri { details.append("uri: \(uri)") }
            if let digest = node.digest { details.append("digest: \(digest)") }
            if let commit = node.gitCommit { details.append("git commit: \(commit)") }
            if let env = node.env { details.append("environment: \(env)\(node.slot.map { " (\($0))" } ?? "")") }
            if let from = node.from { details.append("from \(from) until \(node.until ?? "now")") }
            nodes.append([
                "kind": node.kind, "label": Self.cut(node.label), "full": node.label, "details": details,
                "x": x, "y": y, "w": Self.boxWidth, "h": Self.boxHeight, "tx": x + 10, "ky": y + 16, "ly": y + 35,
                "fill": style.fill, "stroke": style.stroke, "strokeWidth": node.id == root ? 3 : 1.5,
            ])
        }
        let edges: [[String: Any]] = graph.edges.compactMap { edge in
            guard let from = positions[edge.from], let to = positions[edge.to] else { return nil }
            // From the right side of the source box to the left side of the target box; an edge
            // within one column (never drawn by a layered walk, but possible) goes box to box.
            let forward = to.x > from.x
            return [
                "x1": forward ? from.x + Self.boxWidth : from.x + Self.boxWidth / 2, "y1": forward ? from.y + Self.boxHeight / 2 : from.y + Self.boxHeight,
                "x2": forward ? to.x : to.x + Self.boxWidth / 2, "y2": forward ? to.y + Self.boxHeight / 2 : to.y,
                "kind": edge.kind.replacingOccurrences(of: "_", with: " "),
            ]
        }
        let columns = deepest + 1
        let tallest = rows.values.max() ?? 1
        let counts = Dictionary(grouping: graph.nodes, by: \.kind).mapValues(\.count)
        let summary = counts.keys.sorted().map { "\(counts[$0] ?? 0) \($0)(s)" }.joined(separator: ", ")
        return [
            "width": 2 * Self.margin + columns * Self.boxWidth + (columns - 1) * Self.columnGap,
            "height": 2 * Self.margin + tallest * Self.boxHeight + (tallest - 1) * Self.rowGap,
            "nodes": nodes, "edges": edges, "model": model.description, "version": version,
            "description": "\(summary) in \(columns) layer(s), from source data to \(model):\(version).",
            "hidden": graph.hidden > 0 ? graph.hidden : false, "truncated": graph.truncated,
        ]
    }

    static func cut(_ text: String) -> String {
        text.count <= maxLabel ? text : String(text.prefix(maxLabel - 1)) + "…"
    }
}
