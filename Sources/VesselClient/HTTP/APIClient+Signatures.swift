import AsyncHTTPClient
import NIOCore
import VesselCore

/// Signature and trusted-key endpoints.
extension APIClient {
    /// Attaches a model-signing bundle (sent as-is) to a version.
    public func addSignature(_ model: ModelName, version: Int, bundle: [UInt8]) async throws -> SignatureInfo {
        var request = request(.POST, "\(model.apiPath)/versions/\(version)/signatures")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: bundle))
        let body = try await send(request).body.collect(upTo: 1 << 20)
        return try decode(SignatureInfo.self, body, path: "POST signatures")
    }

    public func signatures(_ model: ModelName, version: Int) async throws -> [SignatureInfo] {
        try await all("\(model.apiPath)/versions/\(version)/signatures", as: SignatureInfo.self)
    }

    /// The raw bundle of one signature, byte for byte as it was attached.
    public func signatureBundle(_ model: ModelName, version: Int, id: String) async throws -> [UInt8] {
        let response = try await send(request(.GET, "\(model.apiPath)/versions/\(version)/signatures/\(id.percentEscaped)"))
        return Array(try await response.body.collect(upTo: 256 << 20).readableBytesView)
    }

    public func trustedKeys() async throws -> [TrustedKeyInfo] {
        try await all("/api/v1/keys", as: TrustedKeyInfo.self)
    }

    public func addTrustedKey(name: String, publicKeyPEM: String) async throws -> TrustedKeyInfo {
        try await call(.POST, "/api/v1/keys", body: AddTrustedKeyRequest(name: name, publicKey: publicKeyPEM), as: TrustedKeyInfo.self)
    }

    public func removeTrustedKey(_ name: String) async throws {
        try await callNoContent(.DELETE, "/api/v1/keys/\(name.percentEscaped)")
    }
}
