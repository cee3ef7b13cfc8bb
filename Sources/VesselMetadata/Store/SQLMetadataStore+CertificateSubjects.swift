import SQLKit
import VesselCore

extension SQLMetadataStore: CertificateSubjectStore {
    public func createPrincipal(name: String, kind: PrincipalKind, certificateSubjects: [String], change: ChangeContext) async throws -> PrincipalInfo {
        guard NameRules.isValidModelPart(name) else {
            throw VesselError.invalidArgument("principal name '\(name)' must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
        }
        let subjects = try certificateSubjects.map { text throws(VesselError) in try CertificateSubject.normalize(text) }
        guard Set(subjects).count == subjects.count else { throw VesselError.invalidArgument("a certificate subject is given twice") }
        let now = clock()
        let id = makeID()
        return try await write(conflictMessage: "principal '\(name)' or one of its certificate subjects already exists") { db in
            try await db.raw("""
                INSERT INTO principals (id, name, kind, created_at) VALUES (\(bind: id), \(bind: name), \(bind: kind.rawValue), \(bind: now))
                """).run()
            try await self.audit(db, change, at: now, action: "principal.create", target: "principal/\(name)", model: nil, after: kind.rawValue)
            for subject in subjects {
                try await db.raw("""
                    INSERT INTO principal_cert_subjects (subject, principal_id, created_at) VALUES (\(bind: subject), \(bind: id), \(bind: now))
                    """).run()
                try await self.audit(db, change, at: now, action: "principal.cert_subject.add", target: "principal/\(name)", model: nil, after: subject)
            }
            return PrincipalInfo(name: name, kind: kind, createdAt: Timestamp.rfc3339(micros: now))
        }
    }

    public func principal(certificateIdentities identities: [String]) async throws -> (principal: PrincipalInfo, identity: String)? {
        guard !identities.isEmpty else { return nil }
        let rows = try await backend.read { db in
            try await db.raw("""
                SELECT c.subject, p.name, p.kind, p.created_at FROM principal_cert_subjects c JOIN principals p ON p.id = c.principal_id
                WHERE c.subject IN (\(binds: identities))
                """).all()
        }
        var found: [String: PrincipalInfo] = [:]
        for row in rows { found[try row.decode(column: "subject", as: String.self)] = try Self.principal(row) }
        for identity in identities {
            if let principal = found[identity] { return (principal, identity) }
        }
        return nil
    }

    public func certificateSubjects(of principal: String) async throws -> [String] {
        try await backend.read { db in
            try await db.raw("""
                SELECT c.subject FROM principal_cert_subjects c JOIN principals p ON p.id = c.principal_id
                WHERE p.name = \(bind: principal) ORDER BY c.subject
                """).all().map { try $0.decode(column: "subject", as: String.self) }
        }
    }
}
