import Foundation
import VesselCore

/// What `GET /health/version` answers, what the registry is told and what `--once --json`
/// prints: `{"model","env","slot","version","digest","loaded_at","verified_by","node","state","message"}`.
/// `version`, `digest`, `loaded_at` and `verified_by` describe the version `DIR/current` holds
/// (null while it holds none); `state` is the agent's (`NodeState`), `message` says why.
public struct AgentStatus: Codable, Sendable, Equatable {
    public var model: String
    public var env: String
    public var slot: String
    public var version: Int?
    public var digest: Digest?
    /// When the version was switched in (RFC 3339).
    public var loadedAt: String?
    /// The `--verify-key` file that verified its signature before download; null without keys.
    public var verifiedBy: String?
    public var node: String
    public var state: String
    public var message: String?

    enum CodingKeys: String, CodingKey {
        case model, env, slot, version, digest, node, state, message
        case loadedAt = "loaded_at"
        case verifiedBy = "verified_by"
    }

    /// Written with every key present (null when absent), as every Vessel JSON shape is.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(env, forKey: .env)
        try container.encode(slot, forKey: .slot)
        try container.encode(version, forKey: .version)
        try container.encode(digest, forKey: .digest)
        try container.encode(loadedAt, forKey: .loadedAt)
        try container.encode(verifiedBy, forKey: .verifiedBy)
        try container.encode(node, forKey: .node)
        try container.encode(state, forKey: .state)
        try container.encode(message, forKey: .message)
    }

    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }
}

/// A version materialized under `DIR/versions/<hex>/`, as `DIR/state.json` records it.
public struct LoadedVersion: Codable, Sendable, Equatable {
    public var version: Int
    public var digest: Digest
    public var loadedAt: String
    public var verifiedBy: String?
    /// The key hints that were required when it was verified ("" without keys): a restart with
    /// other `--verify-key`s verifies again.
    public var keys: String
    /// Each file's `"<inode> <size> <mtime ns>"`, recorded when it was materialized: a restart
    /// trusts the folder when every file still matches (no re-hash), as the cache trusts its blobs.
    public var files: [String: String]

    enum CodingKeys: String, CodingKey {
        case version, digest, keys, files
        case loadedAt = "loaded_at"
        case verifiedBy = "verified_by"
    }
}

/// `DIR/state.json`: the routing document of the last contact with the registry and the
/// versions `current` and the previous switch left behind. Replaced atomically (temporary file,
/// then rename) on every change.
public struct AgentStateFile: Codable, Sendable, Equatable {
    public var document: DeploymentInfo?
    public var current: LoadedVersion?
    public var previous: LoadedVersion?

    public init(document: DeploymentInfo? = nil, current: LoadedVersion? = nil, previous: LoadedVersion? = nil) {
        self.document = document
        self.current = current
        self.previous = previous
    }

    public static func read(_ path: String) -> AgentStateFile? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(AgentStateFile.self, from: data)
    }

    public func write(_ path: String) throws(VesselError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let temp = path + ".tmp"
        guard let data = try? encoder.encode(self), FileManager.default.createFile(atPath: temp, contents: data), rename(temp, path) == 0 else {
            throw .internalError("cannot write \(path)")
        }
    }
}
