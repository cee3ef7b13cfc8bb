import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VesselCore
import VesselTestSupport
@testable import VesselMetadata
@testable import VesselServer

/// The web UI in a real browser (issue 29): Debian's Chromium driven by the pinned Playwright
/// (scripts/requirements-test.txt) through scripts/ui_browser.py, against a server on a loopback
/// port. Signs in, browses models → model → version, verifies the audit chain, checks that a
/// viewer has no Approve button, approves alice's request as bob (a second maintainer), sees the
/// audit entry, and runs axe-core on every page (no serious or critical violation). The
/// screenshots go to a folder the test prints. scripts/test installs chromium and sets
/// VESSEL_TEST_PYTHON; without them the suite is skipped by name, which fails CI.
@Suite(.enabled(if: UIBrowserEnvironment.ready, "set VESSEL_TEST_PYTHON to a python with playwright and install chromium (scripts/test does)"))
struct UIBrowserTests {
    static var python: String? { UIBrowserEnvironment.python }
    static var chromium: String { UIBrowserEnvironment.chromium }
    static let script = CLI.packageRoot.appendingPathComponent("scripts/ui_browser.py").path

    struct Outcome: Decodable {
        struct Page: Decodable { var name: String; var screenshot: String }
        var ok: Bool
        var error: String?
        var pages: [Page]?
        var axe_serious: [String: [[String: AnyCodable]]]?
        var dom_content_loaded_ms: [String: Double]?
    }

    /// Any JSON value, to print axe's findings as they came.
    struct AnyCodable: Decodable, CustomStringConvertible {
        let description: String
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) { description = text } else if let number = try? container.decode(Double.self) { description = "\(number)" } else { description = "?" }
        }
    }

    @Test func signInBrowseApproveAndAuditInChromium() async throws {
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
                let system = ChangeContext(actor: "test", requestID: nil)
                _ = try await registry.store.createModel(try ModelName("acme/m"), description: UIPageTests.payload, tags: ["llm", "<i>x</i>"], change: system)
                let id = try await UIPageTests.pendingPromotion(harness, client)
                _ = try await harness.principal("bob", .maintainer)
                _ = try await harness.principal("val", .viewer)
                // acme/d rolling out at its first step, and mia, a maintainer who rolls it back on its page.
                _ = try await harness.principal("mia", .maintainer)
                try await UIDeploymentPageTests.rollingOut(client, model: "acme/d", nodes: true)
                let arguments = [Self.script, "--server", "http://127.0.0.1:\(port)", "--admin-token", APIHarness.adminToken,
                                 "--bob-token", APIHarness.token(of: "bob"), "--viewer-token", APIHarness.token(of: "val"),
                                 "--model", "acme/m", "--request", id, "--deployment", "acme/d/prod-eu", "--maintainer-token", APIHarness.token(of: "mia"),
                                 "--chromium", Self.chromium, "--shots", shots]
                let result = try await withThrowingTaskGroup(of: ProcessResult?.self) { group in
                    group.addTask { try await runProcess(python, arguments, environment: ["PATH": "/usr/bin:/bin", "HOME": dir]) }
                    group.addTask {
                        try await Task.sleep(for: .seconds(300))
                        return nil
                    }
                    defer { group.cancelAll() }
                    return try await group.next().flatMap { $0 }
                }
                guard let result else { throw TestFailure("ui_browser.py still ran after 300 s") }
                print("web UI screenshots: \(shots)")
                guard let line = result.stdout.split(separator: "\n").last,
                      let outcome = try? JSONDecoder().decode(Outcome.self, from: Data(line.utf8)) else {
                    throw TestFailure("ui_browser.py exited \(result.status): \(result.stdout.suffix(2000)) \(result.stderr.suffix(3000))")
                }
                #expect(outcome.ok, "\(outcome.error ?? "") axe serious/critical: \(outcome.axe_serious ?? [:])")
                #expect(outcome.axe_serious?.isEmpty ?? true, "axe-core: \(outcome.axe_serious ?? [:])")
                #expect((outcome.pages?.count ?? 0) >= 10, "a screenshot of every page")
                print("web UI DOMContentLoaded (ms): \(outcome.dom_content_loaded_ms ?? [:])")
                #expect(try await UIPageTests.status(of: id, harness) == "approved")
            }
        } catch {
            await registry.shutdown()
            throw error
        }
        await registry.shutdown()
    }
}

/// Where the browser test finds Python and Chromium.
enum UIBrowserEnvironment {
    static var python: String? {
        guard let value = ProcessInfo.processInfo.environment["VESSEL_TEST_PYTHON"], !value.isEmpty else { return nil }
        return value
    }

    static var chromium: String { ProcessInfo.processInfo.environment["VESSEL_TEST_CHROMIUM"] ?? "/usr/bin/chromium" }
    static var ready: Bool { python != nil && FileManager.default.isExecutableFile(atPath: chromium) }
}
