/// An outbox event as the delivery service reads it.
public struct OutboxEvent: Sendable, Equatable {
    public var seq: Int64
    public var id: String
    public var type: String
    /// When it happened (microseconds since the epoch).
    public var at: Int64
    /// `owner/name`, or "" for events without a model.
    public var model: String
    public var payload: [String: String]
}
