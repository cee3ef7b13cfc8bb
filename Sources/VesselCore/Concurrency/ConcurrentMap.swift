/// Runs `body` for every index in `0..<count`, at most `width` at a time, starting them in
/// `order` (ascending when nil) and starting the next as soon as one finishes; returns the
/// results by index. The first error cancels the others and is rethrown.
public func concurrentMap<R: Sendable>(
    count: Int, width: Int, order: [Int]? = nil, _ body: @escaping @Sendable (Int) async throws -> R
) async throws -> [R] {
    let order = order ?? Array(0..<count)
    precondition(order.count == count, "order must list every index once")
    var results = [R?](repeating: nil, count: count)
    try await withThrowingTaskGroup(of: (Int, R).self) { group in
        var next = 0
        func startOne() {
            let index = order[next]
            next += 1
            group.addTask { (index, try await body(index)) }
        }
        for _ in 0..<min(max(1, width), count) { startOne() }
        while let (index, result) = try await group.next() {
            results[index] = result
            if next < count { startOne() }
        }
    }
    return results.map { $0! }
}
