import Hummingbird
import VesselCore
import VesselMetadata
import VesselSigning

/// Version signatures: attach a model-signing bundle, list them, fetch one as-is.
struct SignatureController {
    let store: any SignatureStore & VersionStore

    func register(_ routes: APIRoutes) {
        let base = "/api/v1/models/:owner/:name/versions/:version/signatures"
        routes.on(.post, base, .write) { request, context, caller in
            let (model, number) = try target(context)
            let bundle: ByteBuffer
            do {
                bundle = try await request.body.collect(upTo: context.maxUploadSize)
            } catch {
                throw VesselError(.payloadTooLarge, "the signature bundle is larger than \(context.maxUploadSize) bytes")
            }
            let bytes = Array(bundle.readableBytesView)
            let version = try await store.resolve(Reference(model: model, selector: .version(number)))
            let verdict = try SignatureAdmission.admit(bundle: bytes, version: version, trustedKeys: try await store.trustedKeys())
            let info = try await store.addSignature(
                model: model, version: number, digest: version.digest, keyHint: verdict.keyHint, keyName: verdict.keyName,
                bundle: String(decoding: bytes, as: UTF8.self), change: caller.change
            )
            return try JSONResponse.make(info, status: .created)
        }
        routes.on(.get, base, .read) { request, context, _ in
            let (model, number) = try target(context)
            return try JSONResponse.make(try ListPaging.page(try await store.signatures(model: model, version: number), request) { ListPaging.key($0.signedAt, $0.id) })
        }
        routes.on(.get, "\(base)/:signature", .read) { _, context, _ in
            let (model, number) = try target(context)
            let bundle = try await store.signatureBundle(model: model, version: number, id: try context.parameters.require("signature"))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: bundle)))
        }
    }

    private func target(_ context: AppContext) throws -> (ModelName, Int) {
        guard let model = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no model") }
        return (model, try Reference.parseVersion(try context.parameters.require("version")))
    }
}
