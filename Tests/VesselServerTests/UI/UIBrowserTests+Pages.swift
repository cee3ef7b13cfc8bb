import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VesselCore
import VesselTestSupport
@testable import VesselMetadata
@testable import VesselServer

/// The webhooks, retention, alias history and version provenance pages in Chromium
/// (scripts/ui_browser_pages.py): the XSS payloads of `UIAdminSeed` show as text and open no
/// dialog, the nav link leads to the webhooks, a maintainer and a viewer see what the API would
/// list, and axe-core finds no serious or critical violation. Screenshots go to the printed folder.
extension UIBrowserTests {
    static let pagesScript = CLI.packageRoot.appendingPathComponent("scripts/ui_browser_pages.py").path

    @Test func webhooksRetentionAliasHistoryAndLineageInChromium() async throws {
        let python = try #require(Self.python)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-ui-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let shots = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-ui-screenshots-\(UUID().uuidString.prefix(8))").path
        let registry = try await Registry.openEmbedded(ServerOptions(dataDir: dir, adminToken: APIHarness.adminToken), logger: Logger(label: "test"))
        let harness = APIHarness(registry: registry, dir: dir)
        let app = Application(router: registry.makeRouter().0, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        do {
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let seeded = try await UIAdminSeed.seed(harness, client)
                _ = try await harness.principal("maya", .maintainer, scope: "acme/*")
                _ = try await harness.principal("vic", .viewer, scope: "acme/*")
                let arguments = [Self.pagesScript, "--server", "http://127.0.0.1:\(port)", "--admin-token", APIHarness.adminToken,
                                 "--maintainer-token", APIHarness.token(of: "maya"), "--viewer-token", APIHarness.token(of: "vic"),
                                 "--model", "acme/m", "--webhook", seeded.webhook, "--chromium", Self.chromium, "--shots", shots]
                let result = try await withThrowingTaskGroup(of: ProcessResult?.self) { group in
                    group.addTask { try await runProcess(python, arguments, environment: ["PATH": "/usr/bin:/bin", "HOME": dir]) }
                    group.addTask {
                        try await Task.sleep(for: .seconds(300))
                        return nil
                    }
                    defer { group.cancelAll() }
                    return try await group.next().flatMap { $0 }
                }
                guard let result else { throw TestFailure("ui_browser_pages.py still ran after 300 s") }
                print("web UI screenshots (webhooks, retention, alias history, lineage): \(shots)")
                guard let line = result.stdout.split(separator: "\n").last,
                      let outcome = try? JSONDecoder().decode(Outcome.self, from: Data(line.utf8)) else {
                    throw TestFailure("ui_browser_pages.py exited \(result.status): \(result.stdout.suffix(2000)) \(result.stderr.suffix(3000))")
                }
                #expect(outcome.ok, "\(outcome.error ?? "") axe serious/critical: \(outcome.axe_serious ?? [:])")
                #expect(outcome.axe_serious?.isEmpty ?? true, "axe-core: \(outcome.axe_serious ?? [:])")
                #expect((outcome.pages?.count ?? 0) >= 10, "a screenshot of every page")
                print("web UI load times (ms): \(outcome.dom_content_loaded_ms ?? [:])")
            }
        } catch {
            await registry.shutdown()
            throw error
        }
        await registry.shutdown()
    }
}
