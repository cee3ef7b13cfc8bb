import Foundation
import Hummingbird
import VesselCore

/// Encodes API responses: JSON, UTF-8, keys sorted, slashes unescaped, and every field
/// without a value written as `null` (`JSONValueEncoder`, the API's null rule).
enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        make(body: try body(value), status: status)
    }

    /// The response body for `value`: its JSON and a newline.
    static func body<T: Encodable>(_ value: T) throws -> ByteBuffer {
        let bytes = try JSONValueEncoder().encodeBytes(value)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(bytes.count + 1)
        buffer.writeBytes(bytes)
        buffer.writeString("\n")
        return buffer
    }

    /// A response with a body encoded before (by ``body(_:)``).
    static func make(body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: body))
    }

    static func error(_ error: VesselError) -> Response {
        let status = HTTPResponse.Status(code: error.code.httpStatus)
        var response = (try? make(ErrorBody(error), status: status)) ?? Response(status: status)
        if error.code == .unauthenticated {
            response.headers[.wwwAuthenticate] = "Bearer realm=\"vessel\""
        }
        return response
    }

    /// Decodes a JSON request body, turning decoding failures into `invalid_argument`.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: AppContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw VesselError(.payloadTooLarge, "the request body is larger than \(context.maxUploadSize) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch let DecodingError.dataCorrupted(context) {
            throw VesselError.invalidArgument("invalid request body: \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, _) {
            throw VesselError.invalidArgument("invalid request body: '\(key.stringValue)' is required")
        } catch let DecodingError.typeMismatch(_, context) {
            throw VesselError.invalidArgument("invalid request body: '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch {
            throw VesselError.invalidArgument("the request body is not valid JSON")
        }
    }
}

import NIOFoundationCompat
