import Foundation
import VesselCore

/// Retention policies, holds and the lifecycle job (docs/retention.md).
extension APIClient {
    public func retentionPolicies() async throws -> [RetentionPolicyInfo] {
        try await all("/api/v1/retention", as: RetentionPolicyInfo.self)
    }

    public func setRetentionPolicy(_ request: RetentionPolicyRequest) async throws -> RetentionPolicyInfo {
        try await call(.PUT, "/api/v1/retention", body: request, as: RetentionPolicyInfo.self)
    }

    public func removeRetentionPolicy(scope: String) async throws {
        let encoded = scope.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? scope
        try await callNoContent(.DELETE, "/api/v1/retention?scope=\(encoded)")
    }

    public func hold(_ model: ModelName, version: Int, reason: String) async throws -> HoldInfo {
        try await call(.PUT, "\(model.apiPath)/versions/\(version)/hold", body: HoldRequest(reason: reason), as: HoldInfo.self)
    }

    public func unhold(_ model: ModelName, version: Int) async throws {
        try await callNoContent(.DELETE, "\(model.apiPath)/versions/\(version)/hold")
    }

    public func runGC(dryRun: Bool) async throws -> GCReport {
        try await call(.POST, "/api/v1/admin/gc", body: GCRequest(dryRun: dryRun), as: GCReport.self)
    }

    public func gcRuns() async throws -> Page<GCRunInfo> {
        try await call(.GET, "/api/v1/admin/gc", as: Page<GCRunInfo>.self)
    }
}
