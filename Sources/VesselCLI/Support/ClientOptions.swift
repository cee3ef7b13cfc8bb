import ArgumentParser
import VesselClient
import VesselCore

/// Options every client command shares.
struct ClientOptions: ParsableArguments {
    @Option(help: "The Vessel server URL (default: $VESSEL_SERVER, the config file, or http://127.0.0.1:8750).")
    var server: String?

    @Flag(help: "Print machine-readable JSON on stdout.")
    var json = false

    /// An API client for the resolved configuration; shut it down after use.
    func withClient<T>(_ body: (APIClient) async throws -> T) async throws -> T {
        let client = APIClient(config: try ClientConfig.resolve(serverFlag: server))
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

