import SQLKit
import VesselCore

extension SQLMetadataStore {
    /// The deployments that served any of `versionIDs`: one node per (environment, slot,
    /// version, interval) from `deployment_history`, an interval being the consecutive
    /// revisions in which the slot held the version with traffic (weight above 0). An interval
    /// ends when a later revision stops serving it, or when its last revision ended
    /// (`ended_at`) without a successor; `until` is null while it still serves.
    func servingDeployments(_ db: any SQLDatabase, versionIDs: [String], depth: Int) async throws -> ([LineageNode], [LineageEdge]) {
        guard !versionIDs.isEmpty else { return ([], []) }
        var places = Set<[String]>()
        for chunk in versionIDs.batches(of: 500) {
            let rows = try await db.raw("""
                SELECT DISTINCT model_id, env FROM deployment_history WHERE blue_version_id IN (\(binds: chunk)) OR green_version_id IN (\(binds: chunk))
                """).all()
            for row in rows { places.insert([try row.decode(column: "model_id", as: String.self), try row.decode(column: "env", as: String.self)]) }
        }
        let wanted = Set(versionIDs)
        var nodes: [LineageNode] = []
        var edges: [LineageEdge] = []
        for place in places.sorted(by: { $0.joined(separator: "\n") < $1.joined(separator: "\n") }) {
            guard let modelRow = try await db.raw("SELECT owner, name FROM models WHERE id = \(bind: place[0])").first() else { continue }
            let model = "\(try modelRow.decode(column: "owner", as: String.self))/\(try modelRow.decode(column: "name", as: String.self))"
            let rows = try await db.raw("""
                SELECT h.revision, h.at, h.ended_at, h.live, h.candidate_weight, h.blue_version_id, h.green_version_id,
                  b.number AS blue_number, g.number AS green_number
                FROM deployment_history h LEFT JOIN versions b ON b.id = h.blue_version_id LEFT JOIN versions g ON g.id = h.green_version_id
                WHERE h.model_id = \(bind: place[0]) AND h.env = \(bind: place[1]) ORDER BY h.revision
                """).all()
            struct Open { let versionID: String; let number: Int; let from: Int64 }
            var open: [String: Open] = [:]
            var lastEnd: Int64?
            func close(_ slot: String, _ interval: Open, until: Int64?) {
                let label = "\(model)@\(place[1]) \(slot) v\(interval.number)"
                let id = "deployment:\(model)@\(place[1])/\(slot):\(interval.number)@\(interval.from)"
                nodes.append(LineageNode(id: id, kind: "deployment", label: label, scope: model, depth: depth, env: place[1], slot: slot,
                                         from: Timestamp.rfc3339(micros: interval.from), until: until.map(Timestamp.rfc3339(micros:))))
                edges.append(LineageEdge(from: "version:\(model):\(interval.number)", to: id, kind: "deployed"))
            }
            for row in rows {
                let at = try row.decode(column: "at", as: Int64.self)
                lastEnd = try row.decode(column: "ended_at", as: Int64?.self)
                let live = try row.decode(column: "live", as: String.self)
                let candidateWeight = try row.decode(column: "candidate_weight", as: Int.self)
                var serving: [String: (String, Int)] = [:]
                for slot in ["blue", "green"] {
                    let weight = slot == live ? 100 - candidateWeight : candidateWeight
                    guard weight > 0, let id = try row.decode(column: "\(slot)_version_id", as: String?.self), wanted.contains(id),
                          let number = try row.decode(column: "\(slot)_number", as: Int?.self) else { continue }
                    serving[slot] = (id, number)
                }
                for (slot, interval) in open where serving[slot]?.0 != interval.versionID {
                    close(slot, interval, until: at)
                    open[slot] = nil
                }
                for (slot, held) in serving where open[slot] == nil { open[slot] = Open(versionID: held.0, number: held.1, from: at) }
            }
            for (slot, interval) in open.sorted(by: { $0.key < $1.key }) { close(slot, interval, until: lastEnd) }
        }
        return (nodes, edges)
    }
}
