import Foundation
import SQLKit
import Testing
import VesselCore
@testable import VesselMetadata

/// The metadata store's contract, run against every backend in `MetadataHarness.backends`.
@Suite struct MetadataConformanceTests {
    let model = try! ModelName("acme/m")

    @Test(arguments: MetadataHarness.backends)
    func principalsAndTokens(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            _ = try await store.createPrincipal(name: "ci", kind: .service, change: MetadataHarness.admin)
            await expectCode(.alreadyExists) { _ = try await store.createPrincipal(name: "ci", kind: .user, change: MetadataHarness.admin) }
            await expectCode(.invalidArgument) { _ = try await store.createPrincipal(name: "Bad Name", kind: .user, change: MetadataHarness.admin) }
            await expectCode(.notFound) { _ = try await store.createToken(principal: "ghost", name: nil, hash: "h0", expiresAt: nil, change: MetadataHarness.admin) }

            let live = try await store.createToken(principal: "ci", name: "live", hash: "h1", expiresAt: nil, change: MetadataHarness.admin)
            _ = try await store.createToken(principal: "ci", name: "old", hash: "h2", expiresAt: 1_000, change: MetadataHarness.admin)
            #expect(try await store.authenticate(hash: "h1", now: 5_000).name == "ci")
            #expect(try await store.authenticate(hash: "h1", now: 5_000).kind == .service)
            await expectCode(.unauthenticated) { _ = try await store.authenticate(hash: "h2", now: 5_000) }
            await expectCode(.unauthenticated) { _ = try await store.authenticate(hash: "nope", now: 5_000) }
            try await store.revokeToken(id: live.id, change: MetadataHarness.admin)
            await expectCode(.unauthenticated) { _ = try await store.authenticate(hash: "h1", now: 5_000) }
            await expectCode(.notFound) { try await store.revokeToken(id: "tok_missing", change: MetadataHarness.admin) }
            #expect(try await store.listTokens().count == 2)

            // ensureToken is idempotent and revives a revoked token.
            try await store.ensureToken(principal: "ci", name: "env", hash: "h1")
            try await store.ensureToken(principal: "ci", name: "env", hash: "h1")
            #expect(try await store.authenticate(hash: "h1", now: 5_000).name == "ci")
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func versionsAreNumberedAndImmutable(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let v1 = try await MetadataHarness.commit(store, model)
            let v2 = try await MetadataHarness.commit(store, model, files: [("a.json", 2), ("b/c.bin", 3)])
            #expect(v1.version == 1 && v2.version == 2)
            #expect(v2.state == .ready)
            #expect(v2.manifest?.map(\.path) == ["a.json", "b/c.bin"])
            let latest = try await store.resolve(Reference(model: model, selector: .latest))
            #expect(latest.version == 2)
            let q = try await MetadataHarness.commit(store, model, findings: [Finding(validator: "manifest", code: "x", message: "bad")])
            #expect(q.state == .quarantined && q.findings.count == 1)
            // Latest skips quarantined versions.
            #expect(try await store.resolve(Reference(model: model, selector: .latest)).version == 2)
            let info = try await store.model(model)
            #expect(info.versions == 3 && info.latestVersion == 2)
            await expectCode(.notFound) { _ = try await store.resolve(Reference(model: model, selector: .version(9))) }
            await expectCode(.notFound) { _ = try await store.resolve(Reference(model: try ModelName("acme/none"), selector: .latest)) }
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func draftsAreInvisibleAndCommitOnce(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let manifest = try MetadataHarness.manifest([("w", 1)])
            let draft = try await store.createDraft(model: model, manifest: manifest, digest: MetadataHarness.digest(9), description: "", change: MetadataHarness.admin)
            #expect(try await store.listVersions(model: model, filter: VersionFilter(), limit: 10, cursor: nil).items.isEmpty)
            #expect(try await store.draftManifest(model: model, draftID: draft) == manifest)
            let first = try await store.commitDraft(model: model, draftID: draft, findings: [], analysis: VersionAnalysis(), change: MetadataHarness.admin)
            let again = try await store.commitDraft(model: model, draftID: draft, findings: [], analysis: VersionAnalysis(), change: MetadataHarness.admin)
            #expect(again.version == first.version && again.digest == first.digest)
            await expectCode(.notFound) { _ = try await store.commitDraft(model: model, draftID: "nope", findings: [], analysis: VersionAnalysis(), change: MetadataHarness.admin) }
        }
    }

    /// Committing a draft again (a client retrying after a lost answer) answers with the
    /// version it became and writes nothing: no second number, audit entry or event. A draft
    /// whose version was deleted since is a conflict.
    @Test(arguments: MetadataHarness.backends)
    func aRetriedCommitAnswersWithTheSameVersion(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, sql in
            let manifest = try MetadataHarness.manifest([("w", 1)])
            let draft = try await store.createDraft(model: model, manifest: manifest, digest: MetadataHarness.digest(9), description: "", change: MetadataHarness.admin)
            #expect(try await store.committedDraft(model: model, draftID: draft) == nil)
            let first = try await store.commitDraft(model: model, draftID: draft, findings: [], analysis: VersionAnalysis(), change: MetadataHarness.admin)
            #expect(try await store.committedDraft(model: model, draftID: draft)?.version == first.version)
            await expectCode(.notFound) { _ = try await store.committedDraft(model: model, draftID: "nope") }
            func written() async throws -> (audit: Int, events: Int) {
                try await sql.read { db in
                    (try await db.raw("SELECT COUNT(*) AS n FROM audit_log").first()!.decode(column: "n", as: Int.self),
                     try await db.raw("SELECT COUNT(*) AS n FROM events").first()!.decode(column: "n", as: Int.self))
                }
            }
            let before = try await written()
            #expect(try await store.draftManifest(model: model, draftID: draft) == manifest, "the commit route reads it again")
            // The retry's validation may differ (a newer scanner): the committed answer stands.
            let again = try await store.commitDraft(model: model, draftID: draft, findings: [Finding(validator: "t", code: "x", message: "late")], analysis: VersionAnalysis(), change: MetadataHarness.admin)
            #expect(again.version == first.version && again.digest == first.digest && again.state == .ready && again.manifest == first.manifest)
            #expect(try await written() == before)
            #expect(try await store.model(model).versions == 1)
            #expect(try await MetadataHarness.commit(store, model).version == 2, "no number was spent on the retry")

            _ = try await store.changeState(model: model, version: first.version, to: .deleted, change: MetadataHarness.admin)
            await expectCode(.conflict) { _ = try await store.draftManifest(model: model, draftID: draft) }
            await expectCode(.conflict) { _ = try await store.committedDraft(model: model, draftID: draft) }
            await expectCode(.conflict) { _ = try await store.commitDraft(model: model, draftID: draft, findings: [], analysis: VersionAnalysis(), change: MetadataHarness.admin) }
            #expect(try await store.verifyAuditChain().ok)
        }
    }

    /// Commits of one draft racing each other (a retry while the first is still validating)
    /// make one version: each reads the draft's state under the model row's lock.
    @Test(arguments: MetadataHarness.backends)
    func concurrentCommitsOfOneDraftMakeOneVersion(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            _ = try await MetadataHarness.commit(store, model)
            let manifest = try MetadataHarness.manifest([("w", 2)])
            let draft = try await store.createDraft(model: model, manifest: manifest, digest: MetadataHarness.digest(8), description: "", change: MetadataHarness.admin)
            let numbers = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await store.commitDraft(model: model, draftID: draft, findings: [], analysis: VersionAnalysis(), change: MetadataHarness.admin).version }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(numbers == Array(repeating: 2, count: 10))
            #expect(try await store.model(model).versions == 2)
            #expect(try await MetadataHarness.commit(store, model).version == 3)
            #expect(try await store.verifyAuditChain().ok)
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func concurrentCommitsGetDistinctNumbers(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            _ = try await MetadataHarness.commit(store, model)
            let numbers = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<20 {
                    group.addTask { try await MetadataHarness.commit(store, model, files: [("f\(i)", UInt8(i))]).version }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(numbers.sorted() == Array(2...21))
            #expect(try await store.verifyAuditChain().ok)
        }
    }

    /// Alias moves with `expectCurrent` serialize on the model row (READ COMMITTED on
    /// PostgreSQL): of many movers expecting the same current version, exactly one wins.
    @Test(arguments: MetadataHarness.backends)
    func concurrentAliasMovesExactlyOneWins(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            for _ in 0..<3 { _ = try await MetadataHarness.commit(store, model) }
            #expect(try await MetadataHarness.setAlias(store, model, "prod", 1, expectAbsent: true).status == .applied)
            let outcomes = try await withThrowingTaskGroup(of: PromotionResult.self) { group in
                for i in 0..<10 {
                    group.addTask { try await MetadataHarness.setAlias(store, model, "prod", 2 + i % 2, expectCurrent: 1) }
                }
                return try await group.reduce(into: [PromotionResult]()) { $0.append($1) }
            }
            // One moves it; those asking for the same move find it made (applied, nothing
            // written), those asking for the other version find it moved (refused).
            let now = try await store.resolve(Reference(model: model, selector: .alias(try AliasName("prod")))).version
            #expect(outcomes.filter { $0.status == .applied }.allSatisfy { $0.version == now })
            #expect(outcomes.filter { $0.status == .applied }.count == 5)
            #expect(outcomes.filter { $0.status == .refused && $0.failures.map(\.rule) == ["expect-current"] }.allSatisfy { $0.version != now })
            #expect(outcomes.filter { $0.status == .refused }.count == 5)
            #expect(try await store.aliasHistory(model: model, alias: try AliasName("prod")).count == 2, "set to 1, then one move")
            #expect(try await store.verifyAuditChain().ok)
        }
    }

    /// A move to where the alias points already is applied without writing anything, even
    /// when its `expectCurrent` names where the alias was before (a retry whose first attempt
    /// went through); the caller's role is still checked.
    @Test(arguments: MetadataHarness.backends)
    func aMoveToWhereTheAliasPointsIsApplied(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, sql in
            for _ in 0..<2 { _ = try await MetadataHarness.commit(store, model) }
            #expect(try await MetadataHarness.setAlias(store, model, "prod", 1, expectAbsent: true).status == .applied)
            #expect(try await MetadataHarness.setAlias(store, model, "prod", 2, expectCurrent: 1).status == .applied)
            func audited() async throws -> Int {
                try await sql.read { db in try await db.raw("SELECT COUNT(*) AS n FROM audit_log").first()!.decode(column: "n", as: Int.self) }
            }
            let before = try await audited()
            let retried = try await MetadataHarness.setAlias(store, model, "prod", 2, expectCurrent: 1)
            #expect(retried.status == .applied && retried.failures.isEmpty && retried.version == 2)
            #expect(try await MetadataHarness.setAlias(store, model, "prod", 2).status == .applied)
            #expect(try await MetadataHarness.setAlias(store, model, "prod", 2, expectAbsent: true).status == .applied)
            let promoted = try await store.promote(PromotionAttempt(model: model, alias: try AliasName("prod"), version: 2, expectCurrent: 1, mode: .promote, role: .contributor), change: MetadataHarness.admin)
            #expect(promoted.status == .applied)
            #expect(try await audited() == before, "nothing changed, nothing recorded")
            #expect(try await store.aliasHistory(model: model, alias: try AliasName("prod")).count == 2)

            let viewer = try await store.promote(PromotionAttempt(model: model, alias: try AliasName("prod"), version: 2, mode: .set, role: .viewer), change: MetadataHarness.admin)
            #expect(viewer.status == .refused && viewer.failures.map(\.rule) == ["role"])
            // Elsewhere the expectation still decides.
            #expect(try await MetadataHarness.setAlias(store, model, "prod", 1, expectCurrent: 1).failures.map(\.rule) == ["expect-current"])
        }
    }

    /// A promotion needing approval opens one request per move: asking again answers with the
    /// request already open for the same model, alias and version; once applied, asking again
    /// is applied.
    @Test(arguments: MetadataHarness.backends)
    func aRetriedPromotionFindsItsOpenRequest(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            for _ in 0..<2 { _ = try await MetadataHarness.commit(store, model) }
            _ = try await store.protect(ProtectRequest(scope: model.description, alias: "prod", role: .maintainer, requireApproval: true, gates: []), change: MetadataHarness.admin)
            let alias = try AliasName("prod")
            let ci = ChangeContext(actor: "ci", requestID: "req-2")
            func promote(_ version: Int, as change: ChangeContext = ci) async throws -> PromotionResult {
                try await store.promote(PromotionAttempt(model: model, alias: alias, version: version, expectAbsent: true, mode: .promote, role: .maintainer), change: change)
            }
            let first = try await promote(1)
            #expect(first.status == .pending)
            let requestID = try #require(first.requestID)
            let again = try await promote(1)
            #expect(again.status == .pending && again.requestID == requestID)
            #expect(try await promote(1, as: MetadataHarness.admin).requestID == requestID, "the same move, asked by someone else")
            let other = try await promote(2)
            #expect(other.status == .pending && other.requestID != requestID, "another version is another move")
            #expect(try await store.promotionRequests(model: model).filter { $0.status == "pending" }.count == 2)

            let approved = try await store.decide(requestID: requestID, approve: true, role: { _ in .maintainer }, change: MetadataHarness.admin)
            #expect(approved.status == .applied)
            let after = try await promote(1)
            #expect(after.status == .applied && after.requestID == nil, "the move was made: a retry finds it applied")
            #expect(try await store.promotionRequests(model: model).count == 2)
            #expect(try await store.verifyAuditChain().ok)
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func aliasesMoveWithExpectations(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let staging = try AliasName("staging")
            _ = try await MetadataHarness.commit(store, model)
            _ = try await MetadataHarness.commit(store, model)
            _ = try await MetadataHarness.commit(store, model, findings: [Finding(validator: "t", code: "x", message: "bad")])
            func rules(_ result: PromotionResult) -> [String] { result.status == .applied ? [] : result.failures.map(\.rule) }
            #expect(rules(try await MetadataHarness.setAlias(store, model, "staging", 1, expectCurrent: 2)) == ["expect-current"])
            #expect(rules(try await MetadataHarness.setAlias(store, model, "staging", 1, expectAbsent: true)) == [])
            #expect(try await store.resolve(Reference(model: model, selector: .alias(staging))).version == 1)
            #expect(rules(try await MetadataHarness.setAlias(store, model, "staging", 2, expectAbsent: true)) == ["expect-current"])
            #expect(rules(try await MetadataHarness.setAlias(store, model, "staging", 2, expectCurrent: 1)) == [])
            #expect(rules(try await MetadataHarness.setAlias(store, model, "staging", 3)) == ["version-state"], "quarantined")
            await expectCode(.notFound) { try await MetadataHarness.setAlias(store, model, "staging", 7) }
            #expect(try await store.resolve(Reference(model: model, selector: .alias(staging))).version == 2)

            // Deleting the alias target is refused until the alias moves.
            await expectCode(.conflict) { _ = try await store.changeState(model: model, version: 2, to: .deleted, change: MetadataHarness.admin) }
            #expect(try await MetadataHarness.removeAlias(store, model, "staging").status == .applied)
            await expectCode(.notFound) { try await MetadataHarness.removeAlias(store, model, "staging") }
            #expect(try await store.changeState(model: model, version: 2, to: .deleted, change: MetadataHarness.admin).state == .deleted)
            await expectCode(.notFound) { _ = try await store.resolve(Reference(model: model, selector: .version(2))) }
            #expect(try await store.changeState(model: model, version: 1, to: .archived, change: MetadataHarness.admin).state == .archived)
            #expect(rules(try await MetadataHarness.setAlias(store, model, "staging", 1)) == ["version-state"], "archived")
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func listsPageWithCursors(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, sql in
            for i in 0..<7 { _ = try await MetadataHarness.commit(store, try ModelName("acme/m\(i)")) }
            for _ in 0..<5 { _ = try await MetadataHarness.commit(store, model) }
            var names: [String] = []
            var cursor: String?
            repeat {
                let page = try await store.listModels(readable: [.registry], limit: 3, cursor: cursor)
                #expect(page.items.count <= 3)
                names += page.items.map(\.model.description)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(names == ["acme/m"] + (0..<7).map { "acme/m\($0)" })
            let first = try await store.listVersions(model: model, filter: VersionFilter(), limit: 2, cursor: nil)
            #expect(first.items.map(\.version) == [5, 4])
            let second = try await store.listVersions(model: model, filter: VersionFilter(), limit: 2, cursor: first.nextCursor)
            #expect(second.items.map(\.version) == [3, 2])
            await expectCode(.invalidArgument) { _ = try await store.listModels(readable: [.registry], limit: 3, cursor: "%%%") }
            // Filtered in the query: only what the scopes cover, none at all for no scope.
            let readable = try await store.listModels(readable: [.model(try ModelName("acme/m3")), .owner("beta")], limit: 3, cursor: nil)
            #expect(readable.items.map(\.model.description) == ["acme/m3"] && readable.nextCursor == nil)
            #expect(try await store.listModels(readable: [], limit: 3, cursor: nil).items.isEmpty)
            // Cursors are signed with a key in the database: a replica on it accepts them, and
            // a cursor works only on the list that issued it.
            let replica = SQLMetadataStore(backend: sql)
            let page = try await store.listModels(readable: [.registry], limit: 1, cursor: nil)
            #expect(try await replica.listModels(readable: [.registry], limit: 1, cursor: page.nextCursor).items.map(\.model.description) == ["acme/m0"])
            await expectCode(.invalidArgument) { _ = try await store.auditEntries(model: nil, limit: 1, cursor: page.nextCursor) }
            await expectCode(.invalidArgument) { _ = try await store.listVersions(model: try ModelName("acme/m0"), filter: VersionFilter(), limit: 2, cursor: first.nextCursor) }
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func blobIndex(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let a = MetadataHarness.digest(1), b = MetadataHarness.digest(2)
            try await store.recordBlob(a, size: 5)
            try await store.recordBlob(a, size: 5)
            #expect(try await store.blobSize(a) == 5)
            #expect(try await store.blobSize(b) == nil)
            let model = try ModelName("acme/m"), everything = [Scope.registry]
            // Stored is not usable: nobody proved `a` for acme/m and no version holds it.
            #expect(try await store.unusableBlobs([b, a, b], model: model, principal: "carol", readable: everything) == [b, a])
            try await store.recordBlob(a, size: 5, proof: BlobProof(model: model, principal: "carol"))
            try await store.recordBlob(a, size: 5, proof: BlobProof(model: model, principal: "carol"))
            #expect(try await store.unusableBlobs([b, a, b], model: model, principal: "carol", readable: []) == [b])
            #expect(try await store.usableBlobSize(a, model: model, principal: "carol", readable: []) == 5)
            // A proof is the principal's, for that model only.
            #expect(try await store.unusableBlobs([a], model: model, principal: "dave", readable: everything) == [a])
            #expect(try await store.unusableBlobs([a], model: try ModelName("acme/other"), principal: "carol", readable: everything) == [a])
            let many = (0..<1200).map { Digest(bytes: [UInt8](repeating: UInt8($0 % 256), count: 31) + [UInt8($0 / 256)]) }
            for digest in many { try await store.recordBlob(digest, size: 1, proof: BlobProof(model: model, principal: "carol")) }
            let never = MetadataHarness.digest(200)
            #expect(try await store.unusableBlobs(many + [never], model: model, principal: "carol", readable: []) == [never])
        }
    }

    /// A blob held by a committed version is usable by whoever may read that version's model,
    /// in any model; a pending draft's or a deleted version's blobs are not.
    @Test(arguments: MetadataHarness.backends)
    func blobsOfReadableVersionsAreUsable(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let secret = try ModelName("acme/secret"), other = try ModelName("beta/b")
            let version = try await MetadataHarness.commit(store, secret, files: [("w.bin", 7)])
            let held = MetadataHarness.digest(7)
            #expect(try await store.unusableBlobs([held], model: other, principal: "bob", readable: [try Scope("beta/*")]) == [held])
            #expect(try await store.unusableBlobs([held], model: other, principal: "bob", readable: [try Scope("acme/secret")]).isEmpty)
            #expect(try await store.unusableBlobs([held], model: other, principal: "bob", readable: [try Scope("acme/*")]).isEmpty)
            #expect(try await store.unusableBlobs([held], model: other, principal: "bob", readable: [.registry]).isEmpty)

            let pending = try MetadataHarness.manifest([("d.bin", 8)])
            try await store.recordBlob(MetadataHarness.digest(8), size: 10)
            _ = try await store.createDraft(model: secret, manifest: pending, digest: MetadataHarness.digest(98), description: "", change: MetadataHarness.admin)
            #expect(try await store.unusableBlobs([MetadataHarness.digest(8)], model: other, principal: "bob", readable: [.registry]) == [MetadataHarness.digest(8)])

            _ = try await store.changeState(model: secret, version: version.version, to: .deleted, change: MetadataHarness.admin)
            #expect(try await store.unusableBlobs([held], model: other, principal: "bob", readable: [.registry]) == [held])
        }
    }

    /// Writes that change who may do what are audited even when the server makes them itself:
    /// the admin token re-enabled at start-up, and a webhook test event.
    @Test(arguments: MetadataHarness.backends)
    func tokenRestoreAndWebhookTestsAreAudited(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            _ = try await store.createPrincipal(name: "admin", kind: .user, change: MetadataHarness.admin)
            let token = try await store.createToken(principal: "admin", name: "t", hash: "hash-1", expiresAt: nil, change: MetadataHarness.admin)
            func actions() async throws -> [String] {
                try await store.auditEntries(model: nil, limit: 100, cursor: nil).items.map(\.action)
            }
            let before = try await actions().count
            try await store.ensureToken(principal: "admin", name: "VESSEL_ADMIN_TOKEN", hash: "hash-1")
            #expect(try await actions().count == before, "re-ensuring a live token changes nothing and records nothing")
            try await store.revokeToken(id: token.id, change: MetadataHarness.admin)
            try await store.ensureToken(principal: "admin", name: "VESSEL_ADMIN_TOKEN", hash: "hash-1")
            let restored = try #require(try await store.auditEntries(model: nil, limit: 100, cursor: nil).items.last)
            #expect(restored.action == "token.restore" && restored.target == "token/\(token.id)" && restored.actor == "system")
            #expect(restored.before == "revoked" && restored.after == "admin")
            #expect(try await store.authenticate(hash: "hash-1", now: 0).name == "admin")

            let hook = try await store.createWebhook(url: "http://127.0.0.1:9/x", filter: try EventFilter(patterns: ["*"], scope: .registry),
                                                     format: .json, secret: "0123456789abcdef", change: MetadataHarness.admin)
            let event = try await store.queueTestEvent(webhook: hook.id, change: MetadataHarness.admin)
            let tested = try #require(try await store.auditEntries(model: nil, limit: 100, cursor: nil).items.last)
            #expect(tested.action == "webhook.test" && tested.target == "webhook/\(hook.id)" && tested.after == event)
            #expect(try await store.verifyAuditChain().ok)
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func auditChainDetectsTampering(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, sql in
            for _ in 0..<3 { _ = try await MetadataHarness.commit(store, model) }
            try await MetadataHarness.setAlias(store, model, "prod", 2)
            let clean = try await store.verifyAuditChain()
            #expect(clean.ok && clean.entries == 5)
            let entries = try await store.auditEntries(model: model, limit: 100, cursor: nil).items
            #expect(entries.map(\.action) == ["model.create", "version.create", "version.create", "version.create", "alias.set"])
            #expect(entries.last?.after == "2" && entries.last?.requestID == "req-1")

            try await sql.transaction { db in try await db.raw("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").run() }
            let broken = try await store.verifyAuditChain()
            #expect(!broken.ok && broken.brokenAt == 3)

            try await sql.transaction { db in try await db.raw("UPDATE audit_log SET actor = 'admin' WHERE seq = 3").run() }
            #expect(try await store.verifyAuditChain().ok)
            try await sql.transaction { db in try await db.raw("DELETE FROM audit_log WHERE seq = 5").run() }
            let truncated = try await store.verifyAuditChain()
            #expect(!truncated.ok && truncated.brokenAt == 5)
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func outboxRecordsEventsInOrder(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, sql in
            _ = try await MetadataHarness.commit(store, model)
            try await MetadataHarness.setAlias(store, model, "prod", 1)
            _ = try await MetadataHarness.commit(store, model)
            try await MetadataHarness.setAlias(store, model, "prod", 2)
            try await MetadataHarness.removeAlias(store, model, "prod")
            let types = try await sql.read { db in
                try await db.raw("SELECT type FROM events ORDER BY seq").all().map { try $0.decode(column: "type", as: String.self) }
            }
            #expect(types == ["model.created", "version.created", "version.ready", "alias.set", "version.created", "version.ready", "alias.moved", "alias.removed"])
        }
    }

    @Test func refusesNewerSchema() async throws {
        try await MetadataHarness.withStore("sqlite") { _, sql in
            try await sql.transaction { db in try await db.raw("UPDATE vessel_schema SET version = 999").run() }
            await expectCode(.schemaTooNew) { try await Migrations.run(on: sql, logger: .init(label: "t")) }
        }
    }

    @Test func canonicalEncodingIsStable() {
        let bytes = AuditChain.canonicalBytes(seq: 1, at: 2, actor: "é", action: "a", target: "t", model: nil, before: "", after: "x", requestID: nil, reason: "why", prevHash: "00")
        let expected = "vessel-audit-v1\nseq=1:1\nat=1:2\nactor=2:é\naction=1:a\ntarget=1:t\nmodel=-\nbefore=0:\nafter=1:x\nrequest_id=-\nreason=3:why\nprev_hash=2:00\n"
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
    }

    /// `credential` and `client_address` (docs/tls.md) are encoded only when set, so entries
    /// written before them keep their hashes.
    @Test func credentialAndClientAddressAreEncodedOnlyWhenSet() {
        let without = AuditChain.canonicalBytes(seq: 1, at: 2, actor: "a", action: "a", target: "t", model: nil, before: nil, after: nil, requestID: nil, reason: nil, prevHash: "00")
        let explicitNil = AuditChain.canonicalBytes(seq: 1, at: 2, actor: "a", action: "a", target: "t", model: nil, before: nil, after: nil, requestID: nil, reason: nil,
                                                    credential: nil, clientAddress: nil, prevHash: "00")
        #expect(without == explicitNil)
        let with = AuditChain.canonicalBytes(seq: 1, at: 2, actor: "a", action: "a", target: "t", model: nil, before: nil, after: nil, requestID: nil, reason: nil,
                                             credential: "certificate CN=x", clientAddress: "10.0.0.1", prevHash: "00")
        #expect(String(decoding: with, as: UTF8.self).hasSuffix("reason=-\ncredential=16:certificate CN=x\nclient_address=8:10.0.0.1\nprev_hash=2:00\n"))
    }
}
