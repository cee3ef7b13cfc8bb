import Hummingbird
import Logging
import VesselCore

/// Turns every error into the API's `{"error": {"code", "message"}}` body, in one place.
/// Unknown errors are logged with their detail and answered as `internal` without it.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppContext

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as VesselError {
            return JSONResponse.error(error)
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
