import Hummingbird

/// Wakes the webhook delivery loop after every request that may have written events (anything
/// but GET and HEAD), so deliveries start within milliseconds instead of at the next poll. It
/// only signals: the request never waits for a delivery.
struct WebhookNudgeMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let wakeup: WebhookWakeup

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        if request.method != .get && request.method != .head { wakeup.signal() }
        return response
    }
}
