import Foundation
import SQLKit
import VesselCore

extension SQLMetadataStore {
    /// The version must be ready; then every gate, judged against this exact content: check
    /// reports count for every version with the same manifest digest (paths, sizes and blob
    /// digests), never for one that only shares the root digest (decision 0013).
    func gateFailures(_ db: any SQLDatabase, target: Target, gates: [String]) async throws -> [RuleFailure] {
        var failures: [RuleFailure] = []
        if target.state != VersionState.ready.rawValue {
            failures.append(RuleFailure(rule: "version-state", message: "the version is \(target.state); only ready versions can be aliased"))
        }
        typealias Report = (name: String, status: String, metrics: [String: Double], reporter: String)
        var checks: [Report]?
        /// Every report for the manifest digest, newest first, with who reported it.
        func loadChecks() async throws -> [Report] {
            if let checks { return checks }
            let rows = try await db.raw("""
                SELECT name, status, metrics, reported_by FROM checks WHERE model_id = \(bind: target.modelID) AND manifest_digest = \(bind: target.manifestDigest)
                ORDER BY seq DESC, id DESC
                """).all()
            let loaded = try rows.map { row in
                (try row.decode(column: "name", as: String.self), try row.decode(column: "status", as: String.self),
                 try Self.decodeJSON([String: Double].self, try row.decode(column: "metrics", as: String.self)),
                 try row.decode(column: "reported_by", as: String.self))
            }
            checks = loaded
            return loaded
        }
        /// Who may satisfy a gate: the reporters it names (anyone if none), never the version's
        /// creator unless named, so whoever pushed a version cannot certify it themselves.
        func allowed(_ reporter: String, _ reporters: [String]?) -> Bool {
            if let reporters { return reporters.contains(reporter) }
            return reporter != target.createdBy
        }
        for text in gates {
            let gate = try Gate(text)
            switch gate {
            case .scanClean:
                guard let scan = target.scan else {
                    failures.append(RuleFailure(rule: text, message: "the version has no scan report"))
                    continue
                }
                let dirty = scan.filter { $0.verdict != "safe" }
                if !dirty.isEmpty {
                    failures.append(RuleFailure(rule: text, message: "not clean: " + dirty.prefix(5).map { "\($0.path) is \($0.verdict)" }.joined(separator: ", ")))
                }
            case .safetensorsOnly:
                let weights = (target.scan ?? []).filter { !Gate.safetensorsOnlyFormats.contains($0.format) }
                if target.scan == nil {
                    failures.append(RuleFailure(rule: text, message: "the version has no scan report"))
                } else if !weights.isEmpty {
                    failures.append(RuleFailure(rule: text, message: "not safetensors: " + weights.prefix(5).map { "\($0.path) (\($0.format))" }.joined(separator: ", ")))
                }
            case .lineage:
                if let failure = try await lineageGateFailure(db, versionID: target.versionID) {
                    failures.append(RuleFailure(rule: text, message: failure))
                }
            case .signedBy(let key):
                if !(try await trustedSignature(db, versionID: target.versionID, keyName: key)) {
                    failures.append(RuleFailure(rule: text, message: "no trusted signature by key '\(key)' on this version"))
                }
            case .check(let name, let reporters):
                let reports = try await loadChecks().filter { $0.name == name }
                if let latest = reports.first(where: { allowed($0.reporter, reporters) }) {
                    if latest.status != "passed" {
                        failures.append(RuleFailure(rule: text, message: "the latest '\(name)' report for this content by \(latest.reporter) is \(latest.status)"))
                    }
                } else if reports.isEmpty {
                    failures.append(RuleFailure(rule: text, message: "no '\(name)' report for this content"))
                } else {
                    let who = reporters.map { "by " + $0.joined(separator: " or ") } ?? "by anyone but the version's creator"
                    let creator = reports.contains { $0.reporter == target.createdBy } && reporters?.contains(target.createdBy) != true
                        ? " (\(target.createdBy) created the version, so their reports cannot satisfy this gate unless it names them)" : ""
                    failures.append(RuleFailure(rule: text, message: "no '\(name)' report for this content \(who)\(creator)"))
                }
            case .metric(let key, let op, let bound):
                guard let value = try await loadChecks().lazy.filter({ allowed($0.reporter, nil) }).compactMap({ $0.metrics[key] }).first else {
                    failures.append(RuleFailure(rule: text, message: "no '\(key)' metric reported for this content by anyone but the version's creator (\(target.createdBy))"))
                    continue
                }
                if !op.holds(value, bound) {
                    failures.append(RuleFailure(rule: text, message: "\(key) is \(value), which is not \(op.rawValue) \(bound)"))
                }
            }
        }
        return failures
    }

    /// Whether a trusted signature by `keyName` (still a trusted key, with the hint that
    /// verified it) covers the version: the `signed-by:KEY` gate, the one reader of this fact.
    func trustedSignature(_ db: any SQLDatabase, versionID: String, keyName: String) async throws -> Bool {
        try await db.raw("""
            SELECT s.id FROM signatures s JOIN trusted_keys k ON k.name = s.key_name AND k.hint = s.key_hint
            WHERE s.version_id = \(bind: versionID) AND s.status = 'trusted' AND s.key_name = \(bind: keyName) LIMIT 1
            """).first() != nil
    }

    /// Points the alias at the target and records the move (audit + `alias.set`/`alias.moved`).
    func applyMove(_ db: any SQLDatabase, model: ModelName, alias: AliasName, target: Target, change: ChangeContext, now: Int64) async throws {
        guard let version = try await db.raw("SELECT number FROM versions WHERE id = \(bind: target.versionID)").first()?.decode(column: "number", as: Int.self) else {
            throw VesselError.internalError("the target version vanished")
        }
        if target.current == version { return }
        if target.current == nil {
            try await db.raw("""
                INSERT INTO aliases (model_id, name, version_id, updated_at, updated_by)
                VALUES (\(bind: target.modelID), \(bind: alias.value), \(bind: target.versionID), \(bind: now), \(bind: change.actor))
                """).run()
        } else {
            try await db.raw("""
                UPDATE aliases SET version_id = \(bind: target.versionID), updated_at = \(bind: now), updated_by = \(bind: change.actor)
                WHERE model_id = \(bind: target.modelID) AND name = \(bind: alias.value)
                """).run()
        }
        try await audit(db, change, at: now, action: "alias.set", target: "alias/\(model)@\(alias)", model: model, before: target.current.map(String.init), after: String(version))
        var payload = ["model": model.description, "alias": alias.value, "version": String(version), "digest": target.digest, "actor": change.actor]
        if let current = target.current { payload["previous_version"] = String(current) }
        if let reason = change.reason { payload["reason"] = reason }
        try await event(db, target.current == nil ? .aliasSet : .aliasMoved, at: now, model: model, payload)
    }

    func removeAlias(_ db: any SQLDatabase, modelID: String, model: ModelName, alias: AliasName, current: Int, change: ChangeContext, now: Int64) async throws {
        try await db.raw("DELETE FROM aliases WHERE model_id = \(bind: modelID) AND name = \(bind: alias.value)").run()
        try await audit(db, change, at: now, action: "alias.remove", target: "alias/\(model)@\(alias)", model: model, before: String(current), after: nil)
        try await event(db, .aliasRemoved, at: now, model: model, ["model": model.description, "alias": alias.value, "previous_version": String(current), "actor": change.actor])
    }
}
