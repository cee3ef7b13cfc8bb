import Testing
import VesselCore

@Suite struct RetentionRulesTests {
    static let day: Int64 = 86_400 * 1_000_000
    static let now: Int64 = 1_000 * day

    /// Twenty versions, committed a day apart (20 is today, 1 is 19 days old).
    static func twenty() -> [RetentionCandidate] {
        (1...20).map { RetentionCandidate(number: $0, state: .ready, committedAt: now - Int64(20 - $0) * day) }
    }

    @Test func withoutAPolicyNothingGoes() {
        #expect(RetentionRules.doomed(Self.twenty(), policy: nil, now: Self.now).isEmpty)
    }

    @Test func theTwentyVersionModel() {
        var versions = Self.twenty()
        versions[2].aliased = true             // 3
        versions[4].deployed = true            // 5
        versions[6].held = true                // 7
        versions[8].state = .quarantined       // 9: quarantined 11 days, goes after 10d
        versions[9].state = .quarantined       // 10
        versions[9].held = true                //    held: stays
        versions[10].state = .archived         // 11: archived and old: goes
        versions[17].state = .quarantined      // 18: quarantined 2 days: newest 3 keep it? no: 18 is newest-3
        versions[19].state = .quarantined      // 20: newest, quarantined 0 days: kept by keep-last
        versions[18].state = .archived         // 19: latest ready is therefore 17
        let policy = RetentionPolicyInfo(scope: "acme/*", keepLast: 3, keepFor: 5 * 86_400, deleteQuarantinedAfter: 10 * 86_400)
        let doomed = RetentionRules.doomed(versions, policy: policy, now: Self.now)
        // Kept: 3 aliased, 5 deployed, 7 and 10 held, 16…20 younger than 5d (15 is exactly
        // 5 days old: not younger), 18…20 the newest 3, 17 the latest ready.
        let numbers = doomed.map(\.number).sorted()
        #expect(numbers == [1, 2, 4, 6, 8, 9, 11, 12, 13, 14, 15])
        #expect(doomed.first { $0.number == 9 }?.reason == "quarantined for longer than 10d (policy acme/*)")
        #expect(doomed.first { $0.number == 1 }?.reason == "not among the newest 3, older than 5d (policy acme/*)")
    }

    @Test func quarantinedGoesWhateverKeepLastSays() {
        let versions = [RetentionCandidate(number: 1, state: .ready, committedAt: Self.now - 30 * Self.day),
                        RetentionCandidate(number: 2, state: .quarantined, committedAt: Self.now - 20 * Self.day)]
        let policy = RetentionPolicyInfo(scope: "*", keepLast: 10, deleteQuarantinedAfter: 7 * 86_400)
        #expect(RetentionRules.doomed(versions, policy: policy, now: Self.now).map(\.number) == [2])
    }

    @Test func aPolicyWithOnlyDraftExpiryDeletesNoVersion() {
        let policy = RetentionPolicyInfo(scope: "*", draftsExpireAfter: 86_400)
        #expect(RetentionRules.doomed(Self.twenty(), policy: policy, now: Self.now).isEmpty)
    }

    @Test func theLatestReadyVersionStaysEvenWhenOld() {
        var versions = Self.twenty()
        for i in 1..<20 { versions[i].state = .archived }
        let policy = RetentionPolicyInfo(scope: "*", keepLast: 1)
        let doomed = RetentionRules.doomed(versions, policy: policy, now: Self.now).map(\.number)
        #expect(!doomed.contains(1) && !doomed.contains(20) && doomed.count == 18)
    }

    @Test func theMostSpecificScopeAppliesWhole() throws {
        let model = try ModelName("acme/m")
        let policies = [RetentionPolicyInfo(scope: "*", keepLast: 1), RetentionPolicyInfo(scope: "acme/*", keepFor: 60),
                        RetentionPolicyInfo(scope: "other/m", keepLast: 2)]
        #expect(RetentionRules.governing(model, among: policies)?.scope == "acme/*")
        #expect(RetentionRules.governing(try ModelName("zeta/m"), among: policies)?.scope == "*")
        #expect(RetentionRules.governing(model, among: []) == nil)
    }

    @Test func requestsAreChecked() throws {
        #expect(throws: VesselError.self) { try RetentionPolicyRequest(scope: "acme", keepLast: 2).validated() }
        #expect(throws: VesselError.self) { try RetentionPolicyRequest(scope: "*", keepFor: "7w").validated() }
        #expect(throws: VesselError.self) { try RetentionPolicyRequest(scope: "*", keepLast: 0).validated() }
        #expect(throws: VesselError.self) { try RetentionPolicyRequest(scope: "*").validated() }
        let ok = try RetentionPolicyRequest(scope: "acme/*", keepLast: 2, keepFor: "7d").validated()
        #expect(ok.policy.keepFor == 7 * 86_400 && ok.scope == .owner("acme"))
    }
}
