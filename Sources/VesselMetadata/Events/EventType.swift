/// The kinds of event the outbox holds; the raw value is the wire name (the `type` of a
/// webhook payload, matched by subscription filters). A write emits its events with
/// `SQLMetadataStore.event` in its own transaction; every case needs a Slack summary
/// (`WebhookPayload.summary`, whose switch fails to compile without it) and a line in the
/// README's list under "Webhooks".
extension Outbox {
    public enum EventType: String, Sendable, CaseIterable {
        case modelCreated = "model.created"
        /// A model's description or tags changed (`vessel model update`; payload `description: changed`,
        /// `added_tags`, `removed_tags`).
        case modelUpdated = "model.updated"
        case versionCreated = "version.created"
        case versionReady = "version.ready"
        case versionQuarantined = "version.quarantined"
        case versionArchived = "version.archived"
        case versionDeleted = "version.deleted"
        /// A version's description changed (`vessel version update`).
        case versionUpdated = "version.updated"
        case aliasSet = "alias.set"
        case aliasMoved = "alias.moved"
        case aliasRemoved = "alias.removed"
        case promotionRequested = "promotion.requested"
        case promotionApproved = "promotion.approved"
        case promotionRejected = "promotion.rejected"
        case promotionRefused = "promotion.refused"
        case checkReported = "check.reported"
        case signatureAdded = "signature.added"
        /// A dataset revision was recorded (model field: the dataset's `OWNER/NAME`; payload
        /// `dataset`, `revision`, `uri`, `digest`, `from`).
        case datasetAdded = "dataset.added"
        /// A training run was recorded (model field: `OWNER/*`; payload `run`, `owner`, `name`,
        /// `git_commit`, `datasets`).
        case runAdded = "run.added"
        /// A rollout began: a version went into the pool that is not live, at weight 0.
        case deploymentStarted = "deployment.started"
        /// The candidate moved to its next step's weight.
        case deploymentAdvanced = "deployment.advanced"
        /// A version became live: the first deploy into an environment, or a rollout at 100%.
        case deploymentCompleted = "deployment.completed"
        /// The candidate's weight dropped to 0, or the live pool flipped back; `automatic`
        /// `true` when reports crossed a threshold, and the reason.
        case deploymentRolledBack = "deployment.rolled_back"
        /// The drift job judged a node or endpoint `drifted`, `stale` or `unreachable` (payload
        /// `node`, `env`, `drift`, `previous`, `desired`, `actual`).
        case deploymentDrift = "deployment.drift"
        /// A node or endpoint that had drifted, gone stale or unreachable serves its slot's digest again.
        case deploymentInSync = "deployment.in_sync"
        /// A run of the lifecycle job that was not a dry run finished (registry-wide, no model;
        /// payload `actor: system`, `versions`, `drafts`, `blobs`, `bytes`, `duration_ms`, and
        /// `sweep_skipped` when a backup held the sweep back).
        case gcCompleted = "gc.completed"
        /// `vessel webhook test`: delivered only to the subscription it names (`payload.webhook`).
        case webhookTest = "webhook.test"
    }
}
