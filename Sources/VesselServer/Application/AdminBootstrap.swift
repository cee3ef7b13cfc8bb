import Foundation
import Logging
import VesselCore
import VesselMetadata

extension Registry {
    /// Creates `admin` on first start, writing its token to `DIR/admin-token` (mode 0600);
    /// ensures `VESSEL_ADMIN_TOKEN` as an admin token on every start. On a shared database
    /// (PostgreSQL) replicas share no directory, so the first start needs `options.adminToken`.
    func bootstrapAdmin(_ options: ServerOptions, logger: Logger) async throws {
        let system = ChangeContext(actor: "system", requestID: nil)
        if try await store.principal(named: "admin") == nil {
            let given = options.adminToken.flatMap { $0.isEmpty ? nil : $0 }
            if options.databaseURL != nil, given == nil {
                throw VesselError.invalidArgument("the database has no admin yet: give its token with VESSEL_ADMIN_TOKEN or --admin-token-file (replicas on a shared database share no admin-token file)")
            }
            _ = try await store.createPrincipal(name: "admin", kind: .user, change: system)
            _ = try await store.grant(principal: "admin", role: .admin, scope: .registry, change: system)
            if options.databaseURL != nil {
                logger.notice("created principal 'admin' with the token given at start")
            } else {
                let token = Tokens.generate()
                _ = try await store.createToken(principal: "admin", name: "bootstrap", hash: Tokens.hash(token), expiresAt: nil, change: system)
                let path = "\(options.dataDir)/admin-token"
                try Self.writeSecret(token + "\n", to: path)
                logger.notice("created principal 'admin'; its token is in \(path)")
            }
        }
        if let token = options.adminToken, !token.isEmpty {
            try await store.ensureToken(principal: "admin", name: "VESSEL_ADMIN_TOKEN", hash: Tokens.hash(token))
        }
    }

    /// Writes `text` to a new file readable by its owner only (mode 0600, whatever the umask).
    static func writeSecret(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw VesselError.internalError("cannot write the admin token file \(path)") }
        defer { close(fd) }
        fchmod(fd, 0o600)
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw VesselError.internalError("cannot write the admin token file \(path)") }
    }
}
