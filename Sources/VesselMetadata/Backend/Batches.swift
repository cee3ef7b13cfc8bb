extension Array {
    /// The elements in consecutive batches of at most `size`: `IN (…)` lists and multi-row
    /// inserts stay under the backends' bind limits (SQLite's 32,766, PostgreSQL's 65,535) and
    /// small enough for the planner to use indexes.
    func batches(of size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
