import Hummingbird
import Logging
import VesselCore

/// Turns every error into the API's `{"error": {"code", "message"}}` body, in one place.
/// Unknown errors are logged with their detail and answered as `internal` without it.
///
/// A backend that cannot be reached arrives here as `unavailable` (503): each backend turns its
/// client library's connection, timeout and refusal errors into a `BackendFailure` at its edge
/// (`PostgresFailure.backendFailure`, `S3Failure.backendFailure`, the deadlines of
/// `BackendPolicy`). A transient one carries `retryAfter`, answered as a `Retry-After` header
/// (`JSONResponse.error`); a permanent misconfiguration (wrong credentials, no such bucket or
/// database) has none.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppContext

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as VesselError {
            return JSONResponse.error(error)
        } catch let error as DeadlineExceeded {
            return JSONResponse.error(VesselError(.unavailable, "a backend did not answer in time (\(error))", retryAfter: BackendFailure.retryAfterSeconds))
        } catch let error as HTTPError {
            let code: ErrorCode = switch error.status.code {
            case 404: .notFound
            case 413: .payloadTooLarge
            case 400..<500: .invalidArgument
            default: .internalError
            }
            return JSONResponse.error(VesselError(code, error.body ?? error.status.reasonPhrase))
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return JSONResponse.error(.internalError("the server failed to handle the request; the server log has details (request id \(context.id))"))
        }
    }
}
