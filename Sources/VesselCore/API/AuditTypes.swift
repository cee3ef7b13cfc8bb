/// One audit entry as the API shows it.
public struct AuditEntryInfo: Codable, Sendable, Equatable {
    public var seq: Int64
    public var time: String
    public var actor: String
    public var action: String
    public var target: String
    public var model: String?
    public var before: String?
    public var after: String?
    public var requestID: String?
    public var reason: String?
    public var prevHash: String
    public var hash: String
    /// What the change was authenticated with: `token`, or `certificate <identity>` (mutual TLS);
    /// null in entries written before Vessel recorded it.
    public var credential: String?
    /// The client's address (with `--trust-proxy`, the one the proxy names); null before it was recorded.
    public var clientAddress: String?

    public init(seq: Int64, time: String, actor: String, action: String, target: String, model: String?, before: String?, after: String?, requestID: String?, reason: String?, prevHash: String, hash: String,
                credential: String? = nil, clientAddress: String? = nil) {
        self.seq = seq
        self.time = time
        self.actor = actor
        self.action = action
        self.target = target
        self.model = model
        self.before = before
        self.after = after
        self.requestID = requestID
        self.reason = reason
        self.prevHash = prevHash
        self.hash = hash
        self.credential = credential
        self.clientAddress = clientAddress
    }

    enum CodingKeys: String, CodingKey {
        case seq, time, actor, action, target, model, before, after, hash, reason, credential
        case requestID = "request_id"
        case prevHash = "prev_hash"
        case clientAddress = "client_address"
    }
}

/// The result of recomputing the audit chain.
public struct AuditVerification: Codable, Sendable, Equatable {
    public var ok: Bool
    /// Entries that checked out, from the first.
    public var entries: Int64
    /// The first entry that does not check out.
    public var brokenAt: Int64?
    public var reason: String?

    public init(ok: Bool, entries: Int64, brokenAt: Int64?, reason: String?) {
        self.ok = ok
        self.entries = entries
        self.brokenAt = brokenAt
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case ok, entries, reason
        case brokenAt = "broken_at"
    }
}
