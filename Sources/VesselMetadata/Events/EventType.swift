/// The kinds of event the outbox holds; the raw value is the wire name (the `type` of a
/// webhook payload, matched by subscription filters). A write emits its events with
/// `SQLMetadataStore.event` in its own transaction; every case needs a Slack summary
/// (`WebhookPayload.summary`, whose switch fails to compile without it) and a line in the
/// README's list under "Webhooks".
extension Outbox {
    public enum EventType: String, Sendable, CaseIterable {
        case modelCreated = "model.created"
        case versionCreated = "version.created"
        case versionReady = "version.ready"
        case versionQuarantined = "version.quarantined"
        case versionArchived = "version.archived"
        case versionDeleted = "version.deleted"
        case aliasSet = "alias.set"
        case aliasMoved = "alias.moved"
        case aliasRemoved = "alias.removed"
        case promotionRequested = "promotion.requested"
        case promotionApproved = "promotion.approved"
        case promotionRejected = "promotion.rejected"
        case promotionRefused = "promotion.refused"
        case checkReported = "check.reported"
        case signatureAdded = "signature.added"
        /// `vessel webhook test`: delivered only to the subscription it names (`payload.webhook`).
        case webhookTest = "webhook.test"
    }
}
