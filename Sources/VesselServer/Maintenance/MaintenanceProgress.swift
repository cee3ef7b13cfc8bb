/// Where a long maintenance run (fsck, backup, restore) reports its progress: a phase with its
/// total bytes, then bytes as they are done. The CLI draws a bar on stderr; the API passes none.
public struct MaintenanceProgress: Sendable {
    public var begin: @Sendable (_ phase: String, _ total: UInt64) -> Void
    public var add: @Sendable (_ bytes: UInt64) -> Void

    public init(begin: @escaping @Sendable (String, UInt64) -> Void, add: @escaping @Sendable (UInt64) -> Void) {
        self.begin = begin
        self.add = add
    }

    public static let none = MaintenanceProgress(begin: { _, _ in }, add: { _ in })
}
