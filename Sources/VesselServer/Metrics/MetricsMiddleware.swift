import Hummingbird

/// Counts every request (method, final status, latency, bytes) into `ServerMetrics`. Added
/// first, so it sees the response `ErrorMiddleware` made of an error.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let bytesIn = request.headers[.contentLength].flatMap { Int($0) } ?? 0
        func record(_ status: Int, _ bytesOut: Int) {
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            metrics.request(method: request.method.rawValue, status: status, seconds: seconds, bytesIn: bytesIn, bytesOut: bytesOut)
        }
        do {
            let response = try await next(request, context)
            let bytesOut = response.body.contentLength ?? response.headers[.contentLength].flatMap { Int($0) } ?? 0
            record(Int(response.status.code), request.method == .head ? 0 : bytesOut)
            return response
        } catch let error as HTTPError {
            record(Int(error.status.code), 0)
            throw error
        } catch {
            record(500, 0)
            throw error
        }
    }
}
