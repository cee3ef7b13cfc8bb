/// One delivery stream: a subscription's events about one model, delivered in order.
/// `model` is "" for events without a model.
struct DeliveryStreamKey: Hashable, Sendable {
    var webhook: String
    var model: String

    init(webhook: String, model: String) {
        self.webhook = webhook
        self.model = model
    }

    /// A stream as the store names it.
    init(_ stream: (webhook: String, model: String)) {
        self.init(webhook: stream.webhook, model: stream.model)
    }
}
