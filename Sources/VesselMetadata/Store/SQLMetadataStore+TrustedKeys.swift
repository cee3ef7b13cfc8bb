import SQLKit
import VesselCore

extension SQLMetadataStore {
    public func addTrustedKey(name: String, hint: String, curve: String, publicKeyPEM: String, change: ChangeContext) async throws -> TrustedKeyInfo {
        guard NameRules.isValidModelPart(name) else {
            throw VesselError.invalidArgument("key name '\(name)' must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
        }
        let now = clock()
        return try await write(conflictMessage: "key '\(name)' or this public key is already trusted; `vessel keys list` shows the trusted keys") { db in
            if let row = try await db.raw("SELECT name FROM trusted_keys WHERE name = \(bind: name) OR hint = \(bind: hint)").first() {
                let existing = try row.decode(column: "name", as: String.self)
                throw VesselError.alreadyExists(existing == name
                    ? "a key named '\(name)' is already trusted; remove it first (`vessel keys rm \(name)`) to replace it"
                    : "this public key is already trusted as '\(existing)'")
            }
            try await db.raw("""
                INSERT INTO trusted_keys (name, hint, curve, public_key, created_at, created_by)
                VALUES (\(bind: name), \(bind: hint), \(bind: curve), \(bind: publicKeyPEM), \(bind: now), \(bind: change.actor))
                """).run()
            try await self.audit(db, change, at: now, action: "key.add", target: "key/\(name)", model: nil, after: "\(curve) \(hint)")
            return TrustedKeyInfo(name: name, hint: hint, curve: curve, publicKey: publicKeyPEM, createdAt: Timestamp.rfc3339(micros: now), createdBy: change.actor)
        }
    }

    public func trustedKeys() async throws -> [TrustedKeyInfo] {
        try await backend.read { db in
            try await db.raw("SELECT name, hint, curve, public_key, created_at, created_by FROM trusted_keys ORDER BY name").all().map { row in
                TrustedKeyInfo(
                    name: try row.decode(column: "name", as: String.self),
                    hint: try row.decode(column: "hint", as: String.self),
                    curve: try row.decode(column: "curve", as: String.self),
                    publicKey: try row.decode(column: "public_key", as: String.self),
                    createdAt: Timestamp.rfc3339(micros: try row.decode(column: "created_at", as: Int64.self)),
                    createdBy: try row.decode(column: "created_by", as: String.self)
                )
            }
        }
    }

    public func removeTrustedKey(name: String, change: ChangeContext) async throws {
        let now = clock()
        try await write { db in
            guard let row = try await db.raw("SELECT hint FROM trusted_keys WHERE name = \(bind: name)").first() else {
                throw VesselError.notFound("no trusted key is named '\(name)'; `vessel keys list` shows them")
            }
            let hint = try row.decode(column: "hint", as: String.self)
            try await db.raw("DELETE FROM trusted_keys WHERE name = \(bind: name)").run()
            try await self.audit(db, change, at: now, action: "key.remove", target: "key/\(name)", model: nil, before: hint)
        }
    }
}
