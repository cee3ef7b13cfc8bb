import Hummingbird
import VesselCore
import VesselMetadata

extension Registry {
    /// Registers the web UI (`/`, `/ui/…`) on `router` and returns its route table
    /// (`METHOD path permission`), which `UIRouteTableTests` compares with the reviewed one.
    @discardableResult
    func registerUI(_ router: Router<AppContext>) -> [String] {
        let renderer = UIRenderer()
        let assets = UIAssets()
        let cookies = UICookies(secure: options.publicURL?.lowercased().hasPrefix("https://") ?? false)
        let routes = UIRoutes(router: router, sessions: store, authorizer: authorizer, clock: clock, cookies: cookies, renderer: renderer,
                              assets: assets, origin: OriginPolicy(proxies: options.trustedProxies, tls: options.tls != nil))
        UIController(store: store, renderer: renderer, assets: assets, cookies: cookies, clock: clock, deploymentWatch: store.deploymentWatch).register(routes, router: router)
        return routes.registered
    }
}
