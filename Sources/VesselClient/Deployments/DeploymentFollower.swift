import VesselCore

/// Follows a deployment's routing document by long-poll (docs/deployments.md, "Following the
/// routing document"): a plain read first, then `?wait=&after=REVISION` with the revision the
/// caller holds, for as long as the task runs. `vessel route` and `vessel agent` both follow
/// with it.
///
/// Transient failures are first waited out by the client's own retry policy (`--retry-for`);
/// whatever still fails is reported to `onEvent` and asked again after a backoff (`retryDelay`,
/// doubling up to `maxRetryDelay`, back to the start after a success), so a follower survives
/// registry restarts and replica changes without ever giving up. A deployment that does not
/// exist (yet) is asked for again every `missingDelay`.
public struct DeploymentFollower: Sendable {
    public enum Event: Sendable {
        /// A document newer than the revision held (or the first one).
        case document(DeploymentInfo)
        /// The model has no deployment in the environment (or there is no such model).
        case missing(VesselError)
        /// The read failed; `attempt` counts the failures since the last success.
        case failed(any Error, attempt: Int)
    }

    public let api: APIClient
    public let model: ModelName
    public let env: AliasName
    /// How long each long-poll waits (the registry cuts it to 60 s).
    public var pollWait: Duration = .seconds(30)
    public var retryDelay: Duration = .milliseconds(250)
    public var maxRetryDelay: Duration = .seconds(5)
    public var missingDelay: Duration = .seconds(2)

    public init(api: APIClient, model: ModelName, env: AliasName) {
        self.api = api
        self.model = model
        self.env = env
    }

    /// Follows until the task is cancelled. `held` is the revision the caller holds now (nil
    /// before its first document): each long-poll asks for a newer one.
    public func run(held: () -> Int?, onEvent: (Event) async -> Void) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let info: DeploymentInfo?
                if let revision = held() {
                    info = try await api.waitForDeployment(model, env: env, after: revision, wait: pollWait)
                } else {
                    info = try await api.deployment(model, env: env)
                }
                failures = 0
                if let info { await onEvent(.document(info)) }
            } catch {
                if Task.isCancelled { return }
                if let error = error as? VesselError, error.code == .notFound {
                    failures = 0
                    await onEvent(.missing(error))
                    try? await Task.sleep(for: missingDelay)
                } else {
                    failures += 1
                    await onEvent(.failed(error, attempt: failures))
                    try? await Task.sleep(for: Self.backoff(attempt: failures, first: retryDelay, max: maxRetryDelay))
                }
            }
        }
    }

    /// `first` doubled for each failure after the first, at most `max`.
    public static func backoff(attempt: Int, first: Duration, max: Duration) -> Duration {
        var delay = first
        for _ in 1..<Swift.max(1, attempt) {
            delay = delay * 2
            if delay >= max { return max }
        }
        return Swift.min(delay, max)
    }
}
