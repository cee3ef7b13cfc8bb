import Foundation
import Hummingbird
import Testing
@testable import VesselServer

/// The reviewed rule of every web UI route, like `RouteTableTests` for the API: a new UI route
/// fails this test until its rule is reviewed and added here.
@Suite struct UIRouteTableTests {
    @Test func everyUIRouteHasItsReviewedRule() async throws {
        try await APIHarness.with { harness, _ in
            let actual = harness.registry.registerUI(Router(context: AppContext.self))
            #expect(Set(actual).count == actual.count, "no route registered twice")
            let assets = UIAssets().all.map { "GET \($0.path) anonymous" }
            let reviewed: Set<String> = Set(assets + [
                "GET / anonymous",
                "GET /ui anonymous",
                "GET /ui/login anonymous",
                // The sign-in form carries its own form token (a cookie and a field).
                "POST /ui/login anonymous",
                "POST /ui/logout authenticated",
                // Like GET /api/v1/models: each caller sees the models its grants cover.
                "GET /ui/models authenticated",
                "GET /ui/models/:owner/:name read",
                "GET /ui/models/:owner/:name/versions/:version read",
                // Like GET /api/v1/audit (admin) and …/models/:owner/:name/audit (maintain).
                "GET /ui/audit admin",
                "GET /ui/models/:owner/:name/audit maintain",
                "POST /ui/audit/verify admin",
                // Requests are listed for the models the caller may read; deciding checks the role on the model in the store.
                "GET /ui/requests authenticated",
                "POST /ui/requests/:id/approve authenticated",
                "POST /ui/requests/:id/reject authenticated",
                "GET /ui/deployments authenticated",
                "POST /ui/models/:owner/:name/deployments/:env/rollback write",
                // Like GET …/deployments/:env and its …/nodes (read); …/watch is the page's long-poll with the session.
                "GET /ui/models/:owner/:name/deployments/:env read",
                "GET /ui/models/:owner/:name/deployments/:env/watch read",
                // Like GET /api/v1/webhooks: each caller sees the subscriptions whose scope it maintains (a viewer none).
                "GET /ui/webhooks authenticated",
                // Like GET /api/v1/retention and /api/v1/holds: registry-wide read (a role on '*').
                "GET /ui/retention read",
                // Like GET …/aliases/:alias/history, for every alias of the model.
                "GET /ui/models/:owner/:name/aliases read",
            ])
            #expect(Set(actual) == reviewed, "unreviewed: \(Set(actual).subtracting(reviewed)); missing: \(reviewed.subtracting(Set(actual)))")
        }
    }

    @Test func everyTemplateParses() {
        let renderer = UIRenderer()
        for name in UITemplates.all.keys {
            #expect(renderer.library.getTemplate(named: name) != nil, "template \(name) does not parse")
        }
    }
}
