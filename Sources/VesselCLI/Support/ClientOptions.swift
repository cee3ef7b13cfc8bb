import ArgumentParser
import VesselClient
import VesselCore

/// Options every client command shares.
struct ClientOptions: ParsableArguments {
    @Option(help: "The Vessel server URL (default: $VESSEL_SERVER, the config file, or http://127.0.0.1:8750).")
    var server: String?

    @Flag(help: "Print machine-readable JSON on stdout.")
    var json = false

    /// An API client for the resolved configuration; shut it down after use. With a
    /// `retryFor` budget its requests wait out an outage (`RetryingClientOptions`).
    func withClient<T>(retryFor: Duration = .zero, onRetry: @escaping @Sendable (RetryNotice) -> Void = { _ in }, _ body: (APIClient) async throws -> T) async throws -> T {
        let client = APIClient(config: try ClientConfig.resolve(serverFlag: server), retryFor: retryFor, onRetry: onRetry)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}

