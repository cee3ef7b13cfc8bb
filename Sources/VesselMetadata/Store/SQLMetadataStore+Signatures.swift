import SQLKit
import VesselCore

extension SQLMetadataStore: SignatureStore {
    public func addSignature(model: ModelName, version: Int, digest: Digest, keyHint: String, keyName: String?, bundle: String, change: ChangeContext) async throws -> SignatureInfo {
        let now = clock()
        let id = makeID()
        return try await write { db in
            let versionID = try await self.signableVersion(db, model: model, version: version, digest: digest)
            var trustedName: String?
            if let keyName, try await db.raw("SELECT name FROM trusted_keys WHERE name = \(bind: keyName) AND hint = \(bind: keyHint)").first() != nil {
                trustedName = keyName
            }
            let status: SignatureStatus = trustedName == nil ? .unverified : .trusted
            try await db.raw("""
                INSERT INTO signatures (id, version_id, key_hint, status, key_name, bundle, signed_at, signed_by)
                VALUES (\(bind: id), \(bind: versionID), \(bind: keyHint), \(bind: status.rawValue), \(bind: trustedName), \(bind: bundle), \(bind: now), \(bind: change.actor))
                """).run()
            let target = "version/\(model):\(version)"
            try await self.audit(db, change, at: now, action: "signature.add", target: target, model: model, after: "\(status.rawValue) \(trustedName ?? keyHint) \(id)")
            var payload = ["model": model.description, "version": String(version), "digest": digest.description, "signature": id, "status": status.rawValue, "key_hint": keyHint, "actor": change.actor]
            if let trustedName { payload["key_name"] = trustedName }
            try await self.event(db, .signatureAdded, at: now, model: model, payload)
            return SignatureInfo(id: id, keyHint: keyHint, status: status, keyName: trustedName, signedAt: Timestamp.rfc3339(micros: now), signedBy: change.actor)
        }
    }

    public func signatures(model: ModelName, version: Int) async throws -> [SignatureInfo] {
        try await backend.read { db in
            let versionID = try await self.versionID(db, model: model, version: version)
            return try await db.raw("""
                SELECT s.id, s.key_hint, s.status, s.key_name, s.signed_at, s.signed_by, k.name AS trusted_name
                FROM signatures s LEFT JOIN trusted_keys k ON k.name = s.key_name AND k.hint = s.key_hint
                WHERE s.version_id = \(bind: versionID) ORDER BY s.signed_at, s.id
                """).all().map { row in
                let recorded = try row.decode(column: "status", as: String.self)
                let stillTrusted = try row.decode(column: "trusted_name", as: String?.self)
                let keyName = try row.decode(column: "key_name", as: String?.self)
                let trusted = recorded == SignatureStatus.trusted.rawValue && stillTrusted != nil
                return SignatureInfo(
                    id: try row.decode(column: "id", as: String.self),
                    keyHint: try row.decode(column: "key_hint", as: String.self),
                    status: trusted ? .trusted : .unverified,
                    keyName: trusted ? keyName : nil,
                    signedAt: Timestamp.rfc3339(micros: try row.decode(column: "signed_at", as: Int64.self)),
                    signedBy: try row.decode(column: "signed_by", as: String.self)
                )
            }
        }
    }

    public func signatureBundle(model: ModelName, version: Int, id: String) async throws -> String {
        try await backend.read { db in
            let versionID = try await self.versionID(db, model: model, version: version)
            guard let row = try await db.raw("SELECT bundle FROM signatures WHERE id = \(bind: id) AND version_id = \(bind: versionID)").first() else {
                throw VesselError.notFound("signature '\(id)' of \(model):\(version) does not exist")
            }
            return try row.decode(column: "bundle", as: String.self)
        }
    }

    /// The id of a committed, not deleted version.
    private func versionID(_ db: any SQLDatabase, model: ModelName, version: Int) async throws -> String {
        let modelID = try await modelID(db, model)
        guard let row = try await db.raw("""
            SELECT id FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: version) AND state <> 'deleted'
            """).first() else {
            throw VesselError.notFound("version \(model):\(version) does not exist")
        }
        return try row.decode(column: "id", as: String.self)
    }

    private func signableVersion(_ db: any SQLDatabase, model: ModelName, version: Int, digest: Digest) async throws -> String {
        let modelID = try await modelID(db, model)
        guard let row = try await db.raw("""
            SELECT id, digest FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: version) AND state <> 'deleted'
            """).first() else {
            throw VesselError.notFound("version \(model):\(version) does not exist")
        }
        guard try row.decode(column: "digest", as: String.self) == digest.description else {
            throw VesselError.conflict("version \(model):\(version) does not have digest \(digest)")
        }
        return try row.decode(column: "id", as: String.self)
    }
}
