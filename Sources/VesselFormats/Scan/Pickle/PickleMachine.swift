/// The analyzer's model of CPython's unpickler state: stack, mark stack (metastack), memo
/// and protocol. Every operation checks what CPython would reject (underflow, missing memo
/// entries) and the scanner's own limits.
struct PickleMachine {
    let limits: ScanLimits
    var stack: [PickleValue] = []
    var marks: [[PickleValue]] = []
    /// The memo: dense indices (the usual 0, 1, 2 …) in an array, sparse ones in a dictionary.
    var memo = PickleMemo()
    var protocolVersion = 0

    init(limits: ScanLimits) {
        self.limits = limits
    }

    mutating func push(_ value: PickleValue, _ at: Int) throws {
        guard stack.count < limits.maxStackDepth else {
            throw ScanProblem.limit("pickle stack deeper than \(limits.maxStackDepth)", at: at)
        }
        stack.append(value.depth > limits.maxValueNesting ? .opaque : value)
    }

    mutating func pop(_ at: Int) throws -> PickleValue {
        guard let value = stack.popLast() else { throw ScanProblem.malformed("pickle stack underflow", at: at) }
        return value
    }

    func top(_ at: Int) throws -> PickleValue {
        guard let value = stack.last else { throw ScanProblem.malformed("pickle stack underflow", at: at) }
        return value
    }

    mutating func mark(_ at: Int) throws {
        guard marks.count < limits.maxStackDepth else {
            throw ScanProblem.limit("more than \(limits.maxStackDepth) open marks", at: at)
        }
        marks.append(stack)
        stack = []
    }

    mutating func popMark(_ at: Int) throws -> [PickleValue] {
        guard let previous = marks.popLast() else { throw ScanProblem.malformed("pickle mark stack underflow", at: at) }
        let items = stack
        stack = previous
        return items
    }

    mutating func memoize(at index: Int, _ at: Int) throws {
        guard var value = stack.last else { throw ScanProblem.malformed("memo store from an empty stack", at: at) }
        if !memo.contains(index) && memo.count >= limits.maxMemoEntries {
            throw ScanProblem.limit("more than \(limits.maxMemoEntries) memo entries", at: at)
        }
        if case .object(var object) = value, object.memoIndex == nil {
            object.memoIndex = index
            value = .object(object)
            stack[stack.count - 1] = value
        }
        memo[index] = value
    }

    mutating func fetch(_ index: Int, _ at: Int) throws {
        guard let value = memo[index] else { throw ScanProblem.malformed("memo entry \(index) not found", at: at) }
        try push(value, at)
    }

    func tuple(_ items: [PickleValue]) -> PickleValue {
        let kept = Array(items.prefix(limits.maxRetainedItems))
        let depth = 1 + (kept.map(\.depth).max() ?? 0)
        return .tuple(PickleTuple(items: kept, count: items.count, depth: depth))
    }

    func dict(_ entries: [(PickleValue, PickleValue)]) -> PickleValue {
        let kept = entries.prefix(limits.maxRetainedItems).map { (key: $0.0, value: $0.1) }
        let depth = 1 + (kept.map { max($0.key.depth, $0.value.depth) }.max() ?? 0)
        return .dict(PickleDict(entries: kept, count: entries.count, depth: depth))
    }

    func object(_ callable: PickleValue, args: PickleValue) -> PickleValue {
        .object(PickleObject(callable: callable, args: args, state: nil, depth: 1 + max(callable.depth, args.depth)))
    }

    /// `SETITEM`/`SETITEMS` on the value on top of the stack.
    mutating func addEntries(_ entries: [(PickleValue, PickleValue)], _ at: Int) throws {
        let target = try top(at)
        guard case .dict(var dict) = target else { return }
        stack[stack.count - 1] = .none
        for (key, value) in entries {
            dict.count += 1
            if dict.entries.count < limits.maxRetainedItems {
                dict.entries.append((key: key, value: value))
                dict.depth = max(dict.depth, 1 + max(key.depth, value.depth))
            }
        }
        stack[stack.count - 1] = dict.depth > limits.maxValueNesting ? .opaque : .dict(dict)
    }

    /// `BUILD`: attaches `state` to the object on top of the stack (and its memo copy).
    /// Returns the object when it is a joblib `NumpyArrayWrapper`.
    mutating func build(state: PickleValue, _ at: Int) throws -> PickleObject? {
        let target = try top(at)
        guard case .object(var object) = target else { return nil }
        object.state = state
        object.depth = max(object.depth, 1 + state.depth)
        let updated: PickleValue = object.depth > limits.maxValueNesting ? .opaque : .object(object)
        stack[stack.count - 1] = updated
        if let index = object.memoIndex, memo.contains(index) { memo[index] = updated }
        if let global = object.callableGlobal, global.module == "joblib.numpy_pickle",
           global.name == "NumpyArrayWrapper" {
            return object
        }
        return nil
    }
}

/// Memo storage: CPython's memo is a dict keyed by int; pickles almost always use 0, 1, 2 …
struct PickleMemo {
    private var dense: [PickleValue] = []
    private var sparse: [Int: PickleValue] = [:]

    var count: Int { dense.count + sparse.count }

    func contains(_ index: Int) -> Bool {
        index < dense.count || sparse[index] != nil
    }

    subscript(index: Int) -> PickleValue? {
        get { index >= 0 && index < dense.count ? dense[index] : sparse[index] }
        set {
            guard let newValue else { return }
            if index >= 0 && index < dense.count {
                dense[index] = newValue
            } else if index == dense.count && sparse.isEmpty {
                dense.append(newValue)
            } else {
                sparse[index] = newValue
            }
        }
    }
}
