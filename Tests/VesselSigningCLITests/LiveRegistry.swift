import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import VesselClient
import VesselCore
import VesselServer
import VesselTestSupport

/// A registry on embedded defaults in a temp dir, served on a real port for the duration of
/// `body`, so the `vessel` binary and an in-process `APIClient` can both talk to it.
struct LiveRegistry: Sendable {
    static let adminToken = "vsl_signing-cli-admin"
    let server: String
    let registry: Registry

    static func with(_ body: @Sendable (LiveRegistry) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-live-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var logger = Logger(label: "live-registry")
        logger.logLevel = .warning
        let registry = try await Registry.openEmbedded(ServerOptions(dataDir: dir, adminToken: adminToken), logger: logger)
        let app = Application(router: registry.makeRouter().0, logger: logger)
        do {
            try await app.test(.live) { client in
                guard let port = client.port else { throw TestFailure("the live test server has no port") }
                try await body(LiveRegistry(server: "http://localhost:\(port)", registry: registry))
            }
        } catch {
            await registry.shutdown()
            throw error
        }
        await registry.shutdown()
    }

    /// Environment for the `vessel` binary pointing at this registry as admin.
    var environment: [String: String] { ["VESSEL_SERVER": server, "VESSEL_TOKEN": Self.adminToken] }

    /// An in-process API client as admin; shut it down after use.
    func withClient<T>(_ body: (APIClient) async throws -> T) async throws -> T {
        let client = APIClient(config: ClientConfig(server: server, token: Self.adminToken))
        do {
            let value = try await body(client)
            await client.shutdown()
            return value
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
