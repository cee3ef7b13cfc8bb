import SQLKit

/// The two settings that decide whether PostgreSQL keeps what it acknowledged through a crash.
public struct DatabaseDurability: Sendable, Equatable {
    /// `SHOW synchronous_commit`: `off` acknowledges a commit before its WAL reaches the disk,
    /// so a crash can lose the last commits a client was told about (`on`, `local`,
    /// `remote_write` and `remote_apply` wait for the local flush).
    public var synchronousCommit: String
    /// `SHOW fsync`: `off` never forces writes to disk, so an OS crash or power loss can lose
    /// or corrupt anything.
    public var fsync: String

    public init(synchronousCommit: String, fsync: String) {
        self.synchronousCommit = synchronousCommit
        self.fsync = fsync
    }

    /// The settings that put acknowledged data at risk, by name (empty when none does).
    public var risks: [String] {
        [("synchronous_commit", synchronousCommit), ("fsync", fsync)].filter { $0.1 == "off" }.map(\.0)
    }
}

extension PostgresBackend {
    /// Reads `synchronous_commit` and `fsync` as this connection's session sees them (a role or
    /// database default overrides the server's).
    public func durability() async throws -> DatabaseDurability {
        try await read { db in
            let synchronous = try await db.raw("SHOW synchronous_commit").first()?.decode(column: "synchronous_commit", as: String.self)
            let fsync = try await db.raw("SHOW fsync").first()?.decode(column: "fsync", as: String.self)
            return DatabaseDurability(synchronousCommit: synchronous ?? "unknown", fsync: fsync ?? "unknown")
        }
    }
}
