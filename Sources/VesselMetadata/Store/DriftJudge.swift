import VesselCore

/// The drift rules (docs/deployments.md, "Nodes and drift"), pure: one node's verdict from what
/// is known about it. An agent that has not reported for `staleAfter` is `stale`; an endpoint
/// whose last poll failed is `unreachable`; a node serving its slot's digest is `in_sync`; one
/// serving another digest is `drifted` once that has lasted `grace` (measured from when the job
/// first saw the difference), and keeps its previous verdict until then — so a node following
/// a rollout does not flap, and one back from `stale` on the wrong digest stays `stale` until
/// the grace runs out.
enum DriftJudge {
    struct Input: Sendable {
        var kind: NodeRecord.Kind
        var drift: DriftState?
        var mismatchSince: Int64?
        /// Whether it serves what its slot holds (both nothing counts).
        var matches: Bool
        var lastSeen: Int64?
        /// Endpoints: the last poll's outcome, nil before the first poll.
        var reachable: Bool?
    }

    struct Verdict: Sendable, Equatable {
        var drift: DriftState?
        var mismatchSince: Int64?
    }

    static func judge(_ input: Input, now: Int64, policy: DriftPolicy) -> Verdict {
        let mismatch = input.matches ? nil : (input.mismatchSince ?? now)
        switch input.kind {
        case .endpoint:
            guard let reachable = input.reachable else { return Verdict(drift: input.drift, mismatchSince: mismatch) }
            if !reachable { return Verdict(drift: .unreachable, mismatchSince: mismatch) }
        case .agent:
            if let lastSeen = input.lastSeen, now - lastSeen > policy.staleAfter { return Verdict(drift: .stale, mismatchSince: mismatch) }
        }
        guard let since = mismatch else { return Verdict(drift: .inSync, mismatchSince: nil) }
        if now - since >= policy.grace { return Verdict(drift: .drifted, mismatchSince: since) }
        return Verdict(drift: input.drift, mismatchSince: since)
    }
}
