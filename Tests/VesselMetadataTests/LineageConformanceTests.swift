import Foundation
import Testing
import VesselCore
@testable import VesselMetadata

/// The lineage store's contract (issue 25) on every backend in `MetadataHarness.backends`:
/// datasets and runs with their audit and events, one namespace with models, a version's
/// environment with its run's as the fallback, the `lineage` gate, and the graph walked up and
/// down a four-level chain down to a deployment that has since ended.
@Suite struct LineageConformanceTests {
    let model = try! ModelName("acme/m")
    let env = try! AliasName("prod-eu")
    let raw = try! ModelName("acme/raw")
    let clean = try! ModelName("acme/clean")
    static let digest = "sha256:" + String(repeating: "ab", count: 32)
    static let image = "ghcr.io/acme/train@sha256:" + String(repeating: "cd", count: 32)

    /// raw:1 → clean:1 → run → acme/m:1 (deployed, then replaced by 2, which links nothing).
    func chain(_ store: SQLMetadataStore) async throws -> String {
        _ = try await store.addDatasetRevision(raw, uri: "s3://lake/raw/2026-12", digest: try Digest(Self.digest), size: 1 << 30, from: [], description: "raw", change: MetadataHarness.admin)
        let cleaned = try await store.addDatasetRevision(clean, uri: "s3://lake/clean/1", digest: nil, size: nil, from: [DatasetReference("acme/raw:1")],
                                                         description: "", change: MetadataHarness.admin)
        #expect(cleaned.from == ["acme/raw:1"] && cleaned.revision == 1)
        let requirements = RequirementsUpload(fileName: "requirements.txt", text: "transformers==4.35.0\ntorch>=2.1 ; sys_platform == 'linux'\n")
        let run = try await store.addRun(owner: "acme", id: "run_0123456789abcdef", request: RunRequest(name: "nightly", gitCommit: "abc123", configName: "train.yaml",
                                          config: "lr: 0.1\n", params: ["lr": "0.1"], metrics: ["loss": 0.25], image: Self.image, requirements: requirements),
                                         datasets: [DatasetReference("acme/clean:1")], requirements: try VersionEnvironment.parse(requirements), change: MetadataHarness.admin)
        #expect(run.datasets == ["acme/clean:1"] && run.configDigest?.description == "sha256:d245e06b9b1158bf71d1c6061882569148a7b6a2ff201e885d55f1dd0cfae70a" && run.config == "lr: 0.1\n")
        let manifest = try MetadataHarness.manifest([("w1.safetensors", 1)])
        for entry in manifest.entries { try await store.recordBlob(entry.digest, size: entry.size) }
        let draft = try await store.createDraft(model: model, manifest: manifest, digest: MetadataHarness.digest(101), description: "", change: MetadataHarness.admin)
        try await store.linkDraft(model: model, draftID: draft, lineage: VersionLineageRequest(run: run.id), requirements: nil)
        _ = try await store.commitDraft(model: model, draftID: draft, findings: [], analysis: VersionAnalysis(), change: MetadataHarness.admin)
        _ = try await MetadataHarness.commit(store, model, files: [("w2.safetensors", 2)])
        _ = try await store.deploy(DeployAttempt(model: model, env: env, version: 1, plan: DeploymentPlan(), role: .admin), change: MetadataHarness.admin)
        _ = try await store.deploy(DeployAttempt(model: model, env: env, version: 2, plan: DeploymentPlan(steps: [100]), role: .admin), change: MetadataHarness.admin)
        _ = try await store.advanceDeployment(DeploymentAttempt(model: model, env: env, role: .admin), change: MetadataHarness.admin)
        return run.id
    }

    @Test(arguments: MetadataHarness.backends)
    func upFromAVersionReachesTheRawData(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let run = try await chain(store)
            let graph = try await store.lineage(root: .version(model, 1), down: false, depth: 64)
            #expect(graph.root == "version:acme/m:1" && graph.direction == "up" && !graph.truncated)
            #expect(graph.nodes.map { "\($0.depth) \($0.kind) \($0.id)" } == [
                "0 version version:acme/m:1", "1 run run:acme/\(run)", "2 dataset dataset:acme/clean:1", "3 dataset dataset:acme/raw:1"])
            #expect(Set(graph.edges.map { "\($0.from) -\($0.kind)-> \($0.to)" }) == [
                "dataset:acme/raw:1 -derived-> dataset:acme/clean:1", "dataset:acme/clean:1 -trained_on-> run:acme/\(run)",
                "run:acme/\(run) -produced-> version:acme/m:1"])
            #expect(graph.nodes[3].uri == "s3://lake/raw/2026-12" && graph.nodes[3].digest == Self.digest && graph.nodes[1].gitCommit == "abc123")
            let shallow = try await store.lineage(root: .version(model, 1), down: false, depth: 2)
            #expect(shallow.nodes.count == 3 && shallow.truncated)
            let alone = try await store.lineage(root: .version(model, 2), down: false, depth: 64)
            #expect(alone.nodes.map(\.id) == ["version:acme/m:2"] && alone.edges.isEmpty)
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func downFromRawDataListsTheDeploymentThatEnded(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let run = try await chain(store)
            let graph = try await store.lineage(root: .dataset(DatasetReference("acme/raw:1")), down: true, depth: 64)
            #expect(graph.nodes.filter { $0.kind != "deployment" }.map(\.id) == ["dataset:acme/raw:1", "dataset:acme/clean:1", "run:acme/\(run)", "version:acme/m:1"])
            let deployments = graph.nodes.filter { $0.kind == "deployment" }
            #expect(deployments.count == 1)
            let served = try #require(deployments.first)
            #expect(served.env == "prod-eu" && served.slot == "blue" && served.from != nil && served.until != nil && served.depth == 4)
            #expect(graph.edges.contains(LineageEdge(from: "version:acme/m:1", to: served.id, kind: "deployed")))
            #expect(graph.edges.count == 4)
            let fromClean = try await store.lineage(root: .dataset(DatasetReference("acme/clean:1")), down: true, depth: 1)
            #expect(fromClean.nodes.map(\.id) == ["dataset:acme/clean:1", "run:acme/\(run)"] && fromClean.truncated)
            await expectCode(.notFound) { _ = try await store.lineage(root: .dataset(DatasetReference("acme/raw:7")), down: true, depth: 3) }
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func datasetsShareTheModelNamespaceAndRefuseUnknownSources(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            _ = try await MetadataHarness.commit(store, model)
            await expectCode(.alreadyExists) {
                _ = try await store.addDatasetRevision(model, uri: "s3://x", digest: nil, size: nil, from: [], description: "", change: MetadataHarness.admin)
            }
            _ = try await store.addDatasetRevision(raw, uri: "s3://x", digest: nil, size: nil, from: [], description: "", change: MetadataHarness.admin)
            await expectCode(.alreadyExists) { _ = try await store.createModel(raw, description: "", tags: [], change: MetadataHarness.admin) }
            await expectCode(.alreadyExists) { _ = try await MetadataHarness.commit(store, raw) }
            await expectCode(.notFound) {
                _ = try await store.addDatasetRevision(clean, uri: "s3://y", digest: nil, size: nil, from: [DatasetReference("acme/raw:2")], description: "", change: MetadataHarness.admin)
            }
            await expectCode(.notFound) { _ = try await store.datasetRevisions(clean) }
            let second = try await store.addDatasetRevision(raw, uri: "s3://x2", digest: nil, size: nil, from: [], description: "", change: MetadataHarness.admin)
            #expect(second.revision == 2)
            #expect(try await store.datasetRevisions(raw).map(\.revision) == [2, 1])
            #expect(try await store.latestDatasetRevisions(readable: [.owner("acme")]).map(\.reference.description) == ["acme/raw:2"])
            #expect(try await store.latestDatasetRevisions(readable: [.owner("beta")]).isEmpty)
            await expectCode(.notFound) {
                _ = try await store.addRun(owner: "acme", id: "run_00000000aaaa", request: RunRequest(), datasets: [DatasetReference("acme/raw:9")],
                                           requirements: nil, change: MetadataHarness.admin)
            }
            _ = try await store.addRun(owner: "acme", id: "run_00000000aaaa", request: RunRequest(), datasets: [], requirements: nil, change: MetadataHarness.admin)
            await expectCode(.alreadyExists) {
                _ = try await store.addRun(owner: "acme", id: "run_00000000aaaa", request: RunRequest(), datasets: [], requirements: nil, change: MetadataHarness.admin)
            }
        }
    }

    @Test(arguments: MetadataHarness.backends)
    func environmentFallsBackToTheRunAndEverythingIsRecorded(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let run = try await chain(store)
            let (linked, environment) = try await store.versionLineage(model: model, version: 1)
            #expect(linked == "acme/\(run)")
            #expect(environment.image == Self.image && environment.imageSource == "run" && environment.requirementsSource == "run")
            #expect(environment.requirements?.map { "\($0.line) \($0.name ?? "") \($0.specifier ?? "") \($0.marker ?? "-")" } == ["1 transformers ==4.35.0 -", "2 torch >=2.1 sys_platform == \"linux\""])
            let none = try await store.versionLineage(model: model, version: 2)
            #expect(none.run == nil && none.environment.isEmpty)

            let events = try await store.outboxEvents(after: 0, limit: 1000)
            let datasets = events.filter { $0.type == "dataset.added" }
            #expect(datasets.map(\.model) == ["acme/raw", "acme/clean"] && datasets[1].payload["from"] == "acme/raw:1")
            let runs = events.filter { $0.type == "run.added" }
            #expect(runs.map(\.model) == ["acme/*"] && runs[0].payload["datasets"] == "acme/clean:1")
            let created = events.filter { $0.type == "version.created" }
            #expect(created.map { $0.payload["run"] ?? "-" } == [run, "-"])
            let audit = try await store.auditEntries(model: nil, limit: 1000, cursor: nil).items
            #expect(audit.filter { $0.action == "dataset.add" }.map(\.target) == ["dataset/acme/raw:1", "dataset/acme/clean:1"])
            #expect(audit.filter { $0.action == "run.add" }.map(\.target) == ["run/acme/\(run)"])
            #expect(try await store.verifyAuditChain().ok)

            try await store.backend.read { db in
                let v1 = try await store.liveVersionID(db, model: model, version: 1)
                let v2 = try await store.liveVersionID(db, model: model, version: 2)
                #expect(try await store.lineageGateFailure(db, versionID: v1) == nil)
                #expect(try await store.lineageGateFailure(db, versionID: v2)?.contains("links no training run") == true)
            }
        }
    }
}
