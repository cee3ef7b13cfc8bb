import Foundation
import Testing
import VesselCore
@testable import VesselMetadata

/// Models and datasets share one namespace (issue 25), also under a race: a model and a dataset
/// of the same name created at the same moment end with one of them and one `already_exists`,
/// never two rows. On PostgreSQL (read committed) each insert alone would find the other table
/// empty; the name's advisory lock (`requireNameFree`) makes the second wait and see the first.
@Suite struct NamespaceRaceTests {
    @Test(arguments: MetadataHarness.backends)
    func aModelAndADatasetOfOneNameCreatedAtOnceEndWithOneConflict(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            for round in 0..<25 {
                let name = try ModelName("acme/race-\(round)")
                async let model: Result<Void, VesselError> = Self.outcome {
                    _ = try await store.createModel(name, description: "", tags: [], change: MetadataHarness.admin)
                }
                async let dataset: Result<Void, VesselError> = Self.outcome {
                    _ = try await store.addDatasetRevision(name, uri: "s3://lake/\(round)", digest: nil, size: nil, from: [], description: "", change: MetadataHarness.admin)
                }
                let outcomes = await [model, dataset]
                let successes = outcomes.filter { if case .success = $0 { true } else { false } }.count
                let conflicts = outcomes.filter { if case .failure(let error) = $0 { error.code == .alreadyExists } else { false } }
                #expect(successes == 1 && conflicts.count == 1, "round \(round): \(outcomes)")
                let isModel = (try? await store.model(name)) != nil
                let isDataset = (try? await store.datasetRevisions(name))?.isEmpty == false
                #expect(isModel != isDataset, "round \(round): '\(name)' is a model (\(isModel)) and a dataset (\(isDataset))")
            }
        }
    }

    static func outcome(_ body: () async throws -> Void) async -> Result<Void, VesselError> {
        do {
            try await body()
            return .success(())
        } catch let error as VesselError {
            return .failure(error)
        } catch {
            return .failure(VesselError(.internalError, "\(error)"))
        }
    }
}
