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
        if let seconds = error.retryAfter {
            response.headers[.retryAfter] = String(seconds)
        }
        return response
    }

    /// Decodes a JSON request body, turning decoding failures into `invalid_argument`. The
    /// strict reader sees the bytes first (``RequestJSON``): a repeated key is refused. A body
    /// that is a `LimitedRequest` is checked against its caps (`Limits`) before it is returned.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: AppContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw VesselError(.payloadTooLarge, "the request body is larger than \(context.maxUploadSize) bytes")
        }
        try buffer.withUnsafeReadableBytes { bytes throws(VesselError) in try RequestJSON.check(bytes) }
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch let DecodingError.dataCorrupted(context) {
            throw VesselError.invalidArgument("invalid request body: \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, _) {
            throw VesselError.invalidArgument("invalid request body: '\(key.stringValue)' is required")
        } catch let DecodingError.typeMismatch(_, context) {
            throw VesselError.invalidArgument("invalid request body: '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch {
            throw VesselError.invalidArgument("the request body is not valid JSON")
        }
        if let limited = value as? any LimitedRequest { try limited.checkLimits() }
        return value
    }
}

import NIOFoundationCompat

/// The strict pass over a JSON request body, before Foundation's decoder sees it: the one
/// strict reader (`StrictJSONReader`) checks the grammar and nesting, and this refuses a key
/// repeated in one object, which `JSONDecoder` would silently resolve (one of the two wins).
///
/// It streams tokens rather than building a tree, so it allocates only the key and string
/// values the reader returns; the keys of the objects open at the moment are kept in one
/// array reused for the whole body (a set per object only past 16 keys). The reader's
/// `parseValue()` checks duplicates too, but builds the whole tree to do it.
enum RequestJSON {
    /// - Throws: `invalid_argument` naming the repeated key, or saying why the bytes are not JSON.
    static func check(_ bytes: UnsafeRawBufferPointer) throws(VesselError) {
        // One pass of the standard library's validator over the whole body is far cheaper
        // than the reader checking every string on its own (about 5 ms against 40 ms for a
        // 19 MB draft of 100,000 files, optimized build).
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw .invalidArgument("the request body is not valid JSON: it is not UTF-8")
        }
        var reader = StrictJSONReader(bytes: bytes, options: .init(depthLimit: .openContainers(Limits.requestNesting), inputIsValidUTF8: true))
        var keys: [String] = []
        // Per open object, innermost last: where its keys start in `keys`, and a set of them
        // once it has more than `linearScan` (so a huge object costs O(n), not O(n²)).
        var objects: [(start: Int, set: Set<String>?)] = []
        let linearScan = 16
        do throws(StrictJSONError) {
            while let token = try reader.nextToken() {
                switch token {
                case .objectStart:
                    objects.append((keys.count, nil))
                case .objectEnd:
                    let start = objects.removeLast().start
                    keys.removeSubrange(start...)
                case .key(let key):
                    let level = objects.count - 1
                    if objects[level].set != nil {
                        guard objects[level].set?.insert(key).inserted == true else { throw StrictJSONError.duplicateKey(key, offset: reader.tokenOffset) }
                    } else {
                        let start = objects[level].start
                        for index in start..<keys.count where keys[index] == key {
                            throw StrictJSONError.duplicateKey(key, offset: reader.tokenOffset)
                        }
                        keys.append(key)
                        if keys.count - start > linearScan { objects[level].set = Set(keys[start...]) }
                    }
                default:
                    break
                }
            }
            reader.skipWhitespace()
            guard reader.position == bytes.count else { throw StrictJSONError.syntax(offset: reader.position, reason: "unexpected data after the JSON value") }
        } catch {
            throw Self.refusal(error)
        }
    }

    private static func refusal(_ error: StrictJSONError) -> VesselError {
        switch error {
        case .duplicateKey(let key, let offset):
            let shown = String(key.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) }.prefix(100))
            return .invalidArgument("invalid request body: key '\(shown)' appears more than once in one object (at byte \(offset))")
        case .tooDeep(let offset):
            return .invalidArgument("invalid request body: nested deeper than \(Limits.requestNesting) levels (at byte \(offset))")
        case .syntax(let offset, let reason):
            return .invalidArgument("the request body is not valid JSON: \(reason) at byte \(offset)")
        }
    }
}
