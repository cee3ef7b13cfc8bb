import VesselCore

/// Parses the signed in-toto statement of a model-signing bundle into a
/// ``VerifiedStatement`` (before the root-digest check, which the verifier does).
///
/// Called only after the signature verified. Unknown predicate fields are
/// ignored, as the model-signing v1.0 predicate asks of verifiers; required
/// fields are checked for type and syntax, and resource paths for safety.
enum StatementParser {
    static func parse(_ payload: [UInt8]) throws(VerificationError) -> VerifiedStatement {
        let root: JSONValue
        do {
            root = try StrictJSONParser.parse(payload)
        } catch {
            throw .malformedStatement("not valid JSON (\(error))")
        }
        guard root.isObject else { throw .malformedStatement("the statement is \(root.kindName), expected an object") }
        let type = try string(root["_type"], at: "_type")
        guard type == BundleFormat.statementType else { throw .statementTypeMismatch(type) }
        let predicateType = try string(root["predicateType"], at: "predicateType")
        guard predicateType == BundleFormat.predicateType else { throw .predicateTypeMismatch(predicateType) }

        guard let subjects = root["subject"]?.arrayValue else {
            throw .malformedStatement("subject is missing or not an array")
        }
        guard subjects.count == 1 else {
            throw .malformedStatement("expected exactly one subject, found \(subjects.count)")
        }
        let subjectName = try string(subjects[0]["name"], at: "subject[0].name")
        let rootHex = try string(subjects[0]["digest"]?["sha256"], at: "subject[0].digest.sha256")
        guard let rootDigest = Hex.decodeLowercase(rootHex, byteCount: 32) else {
            throw .malformedStatement("subject[0].digest.sha256 is not 64 lowercase hex digits")
        }

        guard let predicate = root["predicate"], predicate.isObject else {
            throw .malformedStatement("predicate is missing or not an object")
        }
        let (ignorePaths, allowSymlinks) = try parseSerialization(predicate["serialization"])
        let resources = try parseResources(predicate["resources"])
        return VerifiedStatement(
            subjectName: subjectName,
            rootDigest: rootDigest,
            resources: resources,
            ignorePaths: ignorePaths,
            allowSymlinks: allowSymlinks
        )
    }

    private static func parseSerialization(_ value: JSONValue?) throws(VerificationError) -> ([String], Bool) {
        guard let value, value.isObject else {
            throw .malformedStatement("predicate.serialization is missing or not an object")
        }
        let method = try string(value["method"], at: "predicate.serialization.method")
        guard method == "files" else {
            throw .unsupportedSerialization("method \(JSONText.quoted(method)) (only \"files\" is supported)")
        }
        let hashType = try string(value["hash_type"], at: "predicate.serialization.hash_type")
        guard hashType == "sha256" else {
            throw .unsupportedSerialization("hash_type \(JSONText.quoted(hashType)) (only \"sha256\" is supported)")
        }
        guard let allowSymlinks = value["allow_symlinks"]?.boolValue else {
            throw .malformedStatement("predicate.serialization.allow_symlinks is missing or not a boolean")
        }
        var ignorePaths: [String] = []
        if let list = value["ignore_paths"] {
            guard let items = list.arrayValue else {
                throw .malformedStatement("predicate.serialization.ignore_paths is not an array")
            }
            for item in items {
                guard let path = item.stringValue else {
                    throw .malformedStatement("predicate.serialization.ignore_paths holds \(item.kindName), expected strings")
                }
                ignorePaths.append(path)
            }
        }
        return (ignorePaths, allowSymlinks)
    }

    private static func parseResources(_ value: JSONValue?) throws(VerificationError) -> [SignedResource] {
        guard let items = value?.arrayValue else {
            throw .malformedStatement("predicate.resources is missing or not an array")
        }
        var resources: [SignedResource] = []
        resources.reserveCapacity(items.count)
        var seen = Set<String>()
        for (index, item) in items.enumerated() {
            let location = "predicate.resources[\(index)]"
            guard item.isObject else { throw .malformedStatement("\(location) is not an object") }
            let name = try string(item["name"], at: "\(location).name")
            if let problem = ResourcePath.problem(with: name) {
                throw .malformedStatement("\(location).name \(JSONText.quoted(name)) is unsafe: \(problem)")
            }
            let algorithm = try string(item["algorithm"], at: "\(location).algorithm")
            guard algorithm == "sha256" else {
                throw .unsupportedSerialization("\(location) uses algorithm \(JSONText.quoted(algorithm))")
            }
            let hex = try string(item["digest"], at: "\(location).digest")
            guard let digest = Hex.decodeLowercase(hex, byteCount: 32) else {
                throw .malformedStatement("\(location).digest is not 64 lowercase hex digits")
            }
            guard seen.insert(name).inserted else {
                throw .malformedStatement("resource \(JSONText.quoted(name)) is listed twice")
            }
            resources.append(SignedResource(path: name, sha256: digest))
        }
        return resources
    }

    private static func string(_ value: JSONValue?, at location: String) throws(VerificationError) -> String {
        guard let value else { throw .malformedStatement("\(location) is missing") }
        guard let text = value.stringValue else {
            throw .malformedStatement("\(location) is \(value.kindName), expected a string")
        }
        return text
    }
}
