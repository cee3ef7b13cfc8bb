import Hummingbird
import VesselCore
import VesselMetadata
import VesselSigning

/// The registry's trusted signing keys (admin only).
struct KeyController {
    let store: any SignatureStore

    func register(_ routes: APIRoutes) {
        routes.on(.get, "/api/v1/keys", .admin) { request, _, _ in
            try JSONResponse.make(try ListPaging.page(try await store.trustedKeys(), request) { $0.name })
        }
        routes.on(.post, "/api/v1/keys", .admin) { request, context, caller in
            let body = try await JSONResponse.decode(AddTrustedKeyRequest.self, from: request, context: context)
            let key: VerificationKey
            do {
                key = try VerificationKey(pem: body.publicKey)
            } catch let error as KeyError {
                throw VesselError.invalidArgument(error.message)
            }
            let info = try await store.addTrustedKey(name: body.name, hint: key.hint, curve: key.curve.rawValue, publicKeyPEM: key.pemRepresentation, change: caller.change)
            return try JSONResponse.make(info, status: .created)
        }
        routes.on(.delete, "/api/v1/keys/:key", .admin) { _, context, caller in
            try await store.removeTrustedKey(name: try context.parameters.require("key"), change: caller.change)
            return Response(status: .noContent)
        }
    }
}
