/// What a rule applies to: the whole registry (`*`), an owner's namespace (`acme/*`) or one
/// model (`acme/m`).
public enum Scope: Hashable, Sendable, CustomStringConvertible {
    case registry
    case owner(String)
    case model(ModelName)

    public init(_ text: String) throws(VesselError) {
        if text == "*" {
            self = .registry
        } else if text.hasSuffix("/*") {
            let owner = String(text.dropLast(2))
            guard NameRules.isValidModelPart(owner) else {
                throw .invalidArgument("scope '\(text)' must be '*', 'owner/*' or 'owner/name'")
            }
            self = .owner(owner)
        } else {
            do { self = .model(try ModelName(text)) } catch {
                throw .invalidArgument("scope '\(text)' must be '*', 'owner/*' or 'owner/name'")
            }
        }
    }

    public var description: String {
        switch self {
        case .registry: "*"
        case .owner(let owner): "\(owner)/*"
        case .model(let model): model.description
        }
    }

    /// The scopes that cover `model`, most specific first.
    public static func covering(_ model: ModelName) -> [Scope] {
        [.model(model), .owner(model.owner), .registry]
    }
}

/// Which file formats versions under a scope may hold (`vessel policy set`).
public struct FormatPolicyInfo: Codable, Sendable, Equatable {
    public var scope: String
    public var formats: [String]
    public var updatedAt: String
    public var updatedBy: String

    public init(scope: String, formats: [String], updatedAt: String, updatedBy: String) {
        self.scope = scope
        self.formats = formats
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
    }

    enum CodingKeys: String, CodingKey {
        case scope, formats
        case updatedAt = "updated_at"
        case updatedBy = "updated_by"
    }
}

/// `PUT /api/v1/policies`.
public struct FormatPolicyRequest: Codable, Sendable {
    public var scope: String
    public var formats: [String]
    public init(scope: String, formats: [String]) {
        self.scope = scope
        self.formats = formats
    }
}
