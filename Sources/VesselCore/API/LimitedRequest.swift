/// A request body whose fields have caps (``Limits``). The server's one JSON body decoder
/// calls ``checkLimits()`` on every body that conforms, before a controller sees it, so a
/// route cannot forget; a new request type with free text conforms here.
public protocol LimitedRequest {
    /// - Throws: `invalid_argument` naming the first field over its cap and the cap.
    func checkLimits() throws(VesselError)
}

extension CreateModelRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(description, field: "description", max: Limits.description)
        try Limits.check(tags, field: "tags", each: Limits.tag, count: Limits.tagsPerModel, element: "a tag")
    }
}

/// The files' paths, sizes and media types are checked by `Manifest`, which every manifest
/// goes through.
extension DraftRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(description, field: "description", max: Limits.description)
    }
}

extension SetAliasRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(reason, field: "reason", max: Limits.reason)
    }
}

extension PromoteRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(reason, field: "reason", max: Limits.reason)
    }
}

extension DecisionRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(reason, field: "reason", max: Limits.reason)
    }
}

extension CheckReportRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(name, field: "check name", max: Limits.checkName)
        try Limits.check(status, field: "check status", max: Limits.checkName)
        try Limits.check(Array(metrics.keys), field: "metrics", each: Limits.metricName, count: Limits.metricsPerCheck, element: "a metric name")
        try Limits.check(url, field: "url", max: Limits.url)
    }
}

extension CreateWebhookRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(url, field: "url", max: Limits.url)
    }
}

extension RedeliverRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(webhook, field: "webhook", max: Limits.name)
    }
}

extension CreateTokenRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(name, field: "name", max: Limits.name)
    }
}

extension CreatePrincipalRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(name, field: "name", max: Limits.name)
    }
}

extension AddTrustedKeyRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(name, field: "name", max: Limits.name)
    }
}

