import Hummingbird

/// Runs `onWrite` after every request that may have written (anything but GET and HEAD),
/// before its response is sent: it wakes webhook delivery, so events go out without waiting
/// for the next poll, and clears the read cache, so the caller reads its own write. It never
/// makes the request wait for anything else. It also counts the request in `activity` while
/// it runs: while any is, webhook delivery paces its sends (`RequestActivity`). A long-poll
/// (`GET …?wait=`) is not counted: it mostly waits, and would keep delivery paced for minutes.
/// A node report (`PUT …/nodes/:node`) is not a write: it records node state, emits no event
/// and changes nothing the cache holds (`NodeController.isNodeReport`).
struct WriteNotifyMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let activity: RequestActivity
    let onWrite: @Sendable () -> Void

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        let counted = !LongPoll.isLongPoll(request)
        if counted { activity.enter() }
        // Also after a failed request: it may still have written (a refusal is recorded, say).
        defer {
            if request.method != .get && request.method != .head && !NodeController.isNodeReport(request) { onWrite() }
            if counted { activity.leave() }
        }
        return try await next(request, context)
    }
}
