import Foundation
import VesselCore

/// A parsed `postgres://user:password@host:port/database` URL (`postgresql://` too).
/// Percent-escapes in the user and password are decoded. TLS is not offered yet: the
/// connection is plain TCP, so use it on a trusted network or through a local proxy.
public struct PostgresURL: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    /// - Throws: `invalid_argument` naming what is missing or malformed (never echoing the password).
    public init(_ text: String) throws(VesselError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
              scheme == "postgres" || scheme == "postgresql" else {
            throw .invalidArgument("the database URL must look like postgres://user:password@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .invalidArgument("the database URL has no host (postgres://user:password@host:5432/database)")
        }
        guard let user = components.user, !user.isEmpty else {
            throw .invalidArgument("the database URL has no user name (postgres://user:password@host:5432/database)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw .invalidArgument("the database URL must name one database after the host (postgres://…/database)")
        }
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value, mode != "disable" {
            throw .invalidArgument("sslmode=\(mode) is not supported yet; Vessel connects to PostgreSQL without TLS (sslmode=disable)")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
    }

    /// The URL with the password masked, for logs and error messages.
    public var redacted: String { "postgres://\(username)@\(host):\(port)/\(database)" }
}
