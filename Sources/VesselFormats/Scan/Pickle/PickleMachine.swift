/// The analyzer's model of CPython's unpickler state: stack, mark stack (metastack), memo
/// and protocol. Every operation checks what CPython would reject (underflow, missing memo
/// entries) and the scanner's own limits.
struct PickleMachine {
    let limits: ScanLimits
    /// Every open frame, outermost first: the values above the newest mark are the frame the
    /// opcodes see, and only they count towards `maxStackDepth`.
    private(set) var stack: [PickleValue] = []
    /// Where each open mark's frame starts in `stack` (CPython's metastack, without copies).
    private var marks: [Int] = []
    /// The memo: dense indices (the usual 0, 1, 2 …) in an array, sparse ones in a dictionary.
    var memo = PickleMemo()
    var protocolVersion = 0

    init(limits: ScanLimits) {
        self.limits = limits
        // Room for a small pickle's stack up front, instead of regrowing it 1, 2, 4 … 32.
        stack.reserveCapacity(32)
    }

    private var frameStart: Int { marks.last ?? 0 }

    /// True when the current frame (above the newest mark) holds no value.
    var frameIsEmpty: Bool { stack.count == frameStart }

    mutating func push(_ value: PickleValue, _ at: Int) throws {
        guard stack.count - frameStart < limits.maxStackDepth else {
            throw ScanProblem.limit("pickle stack deeper than \(limits.maxStackDepth)", at: at)
        }
        stack.append(value.depth > limits.maxValueNesting ? .opaque : value)
    }

    mutating func pop(_ at: Int) throws -> PickleValue {
        guard !frameIsEmpty else { throw ScanProblem.malformed("pickle stack underflow", at: at) }
        return stack.removeLast()
    }

    func top(_ at: Int) throws -> PickleValue {
        guard !frameIsEmpty else { throw ScanProblem.malformed("pickle stack underflow", at: at) }
        return stack[stack.count - 1]
    }

    mutating func mark(_ at: Int) throws {
        guard marks.count < limits.maxStackDepth else {
            throw ScanProblem.limit("more than \(limits.maxStackDepth) open marks", at: at)
        }
        marks.append(stack.count)
    }

    /// Closes the newest mark and returns the values above it.
    mutating func popMark(_ at: Int) throws -> [PickleValue] {
        let start = try closeMark(at)
        let items = Array(stack[start...])
        stack.removeSubrange(start...)
        return items
    }

    /// Closes the newest mark and discards the values above it.
    mutating func dropMark(_ at: Int) throws {
        stack.removeSubrange(try closeMark(at)...)
    }

    private mutating func closeMark(_ at: Int) throws -> Int {
        guard let start = marks.popLast() else { throw ScanProblem.malformed("pickle mark stack underflow", at: at) }
        return start
    }

    mutating func memoize(at index: Int, _ at: Int) throws {
        guard !frameIsEmpty, let value = stack.last else {
            throw ScanProblem.malformed("memo store from an empty stack", at: at)
        }
        if !memo.contains(index) && memo.count >= limits.maxMemoEntries {
            throw ScanProblem.limit("more than \(limits.maxMemoEntries) memo entries", at: at)
        }
        if case .object(let object) = value { object.memoized(at: index) }
        memo[index] = value
    }

    mutating func fetch(_ index: Int, _ at: Int) throws {
        guard let value = memo[index] else { throw ScanProblem.malformed("memo entry \(index) not found", at: at) }
        try push(value, at)
    }

    func tuple(_ items: [PickleValue]) -> PickleValue {
        let kept = items.count <= limits.maxRetainedItems ? items : Array(items.prefix(limits.maxRetainedItems))
        var depth = 0
        for item in kept { depth = max(depth, item.depth) }
        return .tuple(PickleTuple(items: kept, count: items.count, depth: 1 + depth))
    }

    /// A dict of the key/value pairs in `items` (alternating; an even count).
    func dict(_ items: [PickleValue]) -> PickleValue {
        var dict = PickleDict(entries: [], count: 0, depth: 1)
        add(items, to: &dict)
        return .dict(dict)
    }

    func object(_ callable: PickleValue, args: PickleValue) -> PickleValue {
        .object(PickleObject(callable: callable, args: args, state: nil, depth: 1 + max(callable.depth, args.depth), memoIndex: nil))
    }

    /// `SETITEM`: the key and value on top of the stack go into the dict below them.
    mutating func setItem(_ at: Int) throws {
        let value = try pop(at), key = try pop(at)
        try addEntries(below: stack.count, pair: (key, value), at)
    }

    /// `SETITEMS`: the key/value pairs above the newest mark go into the dict below it, read
    /// where they lie on the stack (no array of them is made).
    mutating func setItems(_ at: Int) throws {
        let start = try closeMark(at)
        guard (stack.count - start) % 2 == 0 else { throw ScanProblem.malformed("SETITEMS with an odd number of items", at: at) }
        try addEntries(below: start, pair: nil, at)
    }

    /// Adds `stack[start...]` (alternating keys and values) and `pair` to the dict at
    /// `stack[start - 1]` when it is one, then drops `stack[start...]`. An empty frame below
    /// `start` is an underflow, as in CPython.
    private mutating func addEntries(below start: Int, pair: (PickleValue, PickleValue)?, _ at: Int) throws {
        guard start > frameStart else { throw ScanProblem.malformed("pickle stack underflow", at: at) }
        if case .dict(var dict) = stack[start - 1] {
            stack[start - 1] = .none
            if let (key, value) = pair { add(key, value, to: &dict) }
            add(stack[start...], to: &dict)
            stack[start - 1] = dict.depth > limits.maxValueNesting ? .opaque : .dict(dict)
        }
        stack.removeSubrange(start...)
    }

    private func add(_ items: some Collection<PickleValue>, to dict: inout PickleDict) {
        var index = items.startIndex
        while index != items.endIndex {
            let key = items[index]
            items.formIndex(after: &index)
            guard index != items.endIndex else { return }
            add(key, items[index], to: &dict)
            items.formIndex(after: &index)
        }
    }

    private func add(_ key: PickleValue, _ value: PickleValue, to dict: inout PickleDict) {
        dict.count += 1
        if dict.entries.count < limits.maxRetainedItems {
            dict.entries.append((key: key, value: value))
            dict.depth = max(dict.depth, 1 + max(key.depth, value.depth))
        }
    }

    /// `BUILD`: attaches `state` to the object on top of the stack (and its memo copy).
    /// Returns the object when it is a joblib `NumpyArrayWrapper`.
    mutating func build(state: PickleValue, _ at: Int) throws -> PickleObject? {
        let target = try top(at)
        guard case .object(let built) = target else { return nil }
        let object = PickleObject(callable: built.callable, args: built.args, state: state,
                                  depth: max(built.depth, 1 + state.depth), memoIndex: built.memoIndex)
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
