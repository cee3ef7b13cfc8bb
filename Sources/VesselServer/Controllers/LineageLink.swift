import VesselCore
import VesselMetadata

/// What a push links (`vessel push --run --requirements --image`), checked before the draft
/// is made: the image pinned by digest, every requirements line understood, and a run the
/// caller may read (a grant on the run's `OWNER/*`).
struct LineageLink {
    var request: VersionLineageRequest
    var requirements: [RequirementEntry]?

    static func check(_ request: VersionLineageRequest?, store: any LineageStore & GrantStore, caller: Caller) async throws -> LineageLink? {
        guard var request, !request.isEmpty else { return nil }
        if let image = request.image { _ = try ImageReference.validate(image) }
        let requirements = try request.requirements.map(VersionEnvironment.parse)
        if let run = request.run {
            // `OWNER/ID` or the bare id.
            let parts = run.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            let id = parts.last ?? run
            guard parts.count <= 2, RunRequest.isValidID(id) else {
                throw VesselError.invalidArgument("--run '\(run)' is not a run id: run_… or OWNER/run_…")
            }
            let owner = try await store.runOwner(id: id)
            if parts.count == 2, parts[0] != owner { throw VesselError.notFound("run '\(run)' does not exist") }
            let readable = try await store.readableScopes(of: caller.principal.name)
            guard LineageController.covers(readable, "\(owner)/*") else {
                throw VesselError.forbidden("\(caller.principal.name) may not read runs of \(owner)/*, so cannot link run \(id)")
            }
            request.run = id
        }
        return LineageLink(request: request, requirements: requirements)
    }
}
