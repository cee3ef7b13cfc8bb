import VesselCore

/// Retention policies and holds (`vessel retention`, `vessel hold`); every change is audited.
public protocol RetentionStore: Sendable {
    /// Sets (replaces) the policy of `scope`. Audit `retention.set`.
    func setRetentionPolicy(scope: Scope, policy: RetentionPolicyInfo, change: ChangeContext) async throws -> RetentionPolicyInfo
    /// Every policy, by scope.
    func retentionPolicies() async throws -> [RetentionPolicyInfo]
    /// Removes the policy of `scope`. Audit `retention.remove`.
    /// - Throws: `not_found` when the scope has no policy.
    func removeRetentionPolicy(scope: Scope, change: ChangeContext) async throws
    /// Holds a committed version (kept whatever a policy says). Audit `version.hold`.
    /// - Throws: `not_found` for an absent or deleted version.
    func hold(model: ModelName, version: Int, reason: String, change: ChangeContext) async throws -> HoldInfo
    /// Lets a held version go again. Audit `version.unhold`.
    /// - Throws: `not_found` when the version is not held.
    func unhold(model: ModelName, version: Int, change: ChangeContext) async throws
    /// Every hold on a version that is not deleted.
    func holds() async throws -> [HoldInfo]
}

/// When a blob was last named, and the handshake between an upload and a sweep of the same
/// digest (docs/decisions/0022-garbage-collection.md).
public protocol BlobNaming: Sendable {
    /// Names `digest` before its bytes are written and answers the count of sweeps begun on it
    /// so far, to pass to `recordUploadedBlob`.
    /// - Throws: `unavailable` (retry) while a sweep of the digest is removing its object.
    func beginBlobUpload(_ digest: Digest) async throws -> Int64
    /// `recordBlob`, refused with `unavailable` when a sweep of the digest began since
    /// `beginBlobUpload` answered `sweepSeq` (its object may be gone: upload again).
    func recordUploadedBlob(_ digest: Digest, size: UInt64, proof: BlobProof?, sweepSeq: Int64) async throws
    /// When `digest` was last named, if ever.
    func lastNamed(_ digest: Digest) async throws -> Int64?
}
