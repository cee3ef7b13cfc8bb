import ArgumentParser
import VesselClient
import VesselCore

/// Options every client command shares.
struct ClientOptions: ParsableArguments {
    @Option(help: "The Vessel server URL (default: $VESSEL_SERVER, the config file, or http://127.0.0.1:8750).")
    var server: String?

    @Flag(help: "Print machine-readable JSON on stdout.")
    var json = false

    @Option(help: ArgumentHelp("Trust this PEM CA for an https:// server, besides the system store (default: $VESSEL_CA_CERT, the config file's ca_cert).", valueName: "FILE"))
    var caCert: String?

    @Option(help: ArgumentHelp("Present this PEM certificate to a server that asks (mutual TLS; default: $VESSEL_CLIENT_CERT).", valueName: "FILE"))
    var clientCert: String?

    @Option(help: ArgumentHelp("The PEM private key of --client-cert (default: $VESSEL_CLIENT_KEY).", valueName: "FILE"))
    var clientKey: String?

    @Flag(help: "Do not check the server's certificate (a warning is printed on every use; never in production).")
    var insecureSkipVerify = false

    /// The resolved configuration: these flags > environment > config file.
    func config() throws(VesselError) -> ClientConfig {
        try ClientConfig.resolve(serverFlag: server, tlsFlags: ClientTLS(caCertPath: caCert, clientCertPath: clientCert, clientKeyPath: clientKey, insecureSkipVerify: insecureSkipVerify))
    }

    /// An API client for the resolved configuration; shut it down after use. With a
    /// `retryFor` budget its requests wait out an outage (`RetryingClientOptions`).
    func withClient<T>(retryFor: Duration = .zero, onRetry: @escaping @Sendable (RetryNotice) -> Void = { _ in }, _ body: (APIClient) async throws -> T) async throws -> T {
        let client = APIClient(config: try config(), retryFor: retryFor, onRetry: onRetry)
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

