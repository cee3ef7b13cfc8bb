/// What the analyzer knows about one value on the pickle stack or in the memo.
///
/// Only what judging needs is modelled: literal strings (for `STACK_GLOBAL`), imports, the
/// shape of calls, and small tuples/dicts (for joblib's array wrapper). Everything else is
/// `opaque`. Nesting is capped (`ScanLimits.maxValueNesting`) so no value is deep enough to
/// make recursion a risk; lists and sets keep no contents, so no value can contain itself.
/// Imports and call results are immutable class instances: copying any value (pushing it,
/// memoizing it, fetching it) costs at most one retain, and a new object can only refer to
/// older values, so no value can contain itself. Scalars, strings, tuples and dicts are stored
/// inline, so pushing one costs no allocation beyond its own storage.
enum PickleValue {
    case none
    case bool(Bool)
    /// An integer; nil when it does not fit 64 bits.
    case int(Int64?)
    case float
    /// A text string; nil when longer than `maxRetainedString` or not valid UTF-8.
    case text(String?)
    case bytes
    case list
    case set
    case tuple(PickleTuple)
    case dict(PickleDict)
    /// An imported callable or class.
    case global(PickleGlobal)
    /// The result of calling an import (`REDUCE`, `NEWOBJ`, `INST`, `OBJ`…), plus `BUILD` state.
    case object(PickleObject)
    /// A value the analyzer does not model (persistent ids, buffers, results of unknown calls).
    case opaque

    /// Nesting depth: 0 for scalars.
    var depth: Int {
        switch self {
        case .tuple(let tuple): return tuple.depth
        case .dict(let dict): return dict.depth
        case .object(let object): return object.depth
        default: return 0
        }
    }

    /// A short description for findings.
    var summary: String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .int: return "an int"
        case .float: return "a float"
        case .text(let text): return text.map { "'\($0.prefix(64))'" } ?? "a long or undecodable string"
        case .bytes: return "bytes"
        case .list: return "a list"
        case .set: return "a set"
        case .tuple: return "a tuple"
        case .dict: return "a dict"
        case .global(let global): return "the import \(global.qualifiedName)"
        case .object(let object): return "the result of calling \(object.callable.summary)"
        case .opaque: return "an opaque value"
        }
    }

    var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    var int: Int64? {
        if case .int(let value) = self { return value }
        if case .bool(let value) = self { return value ? 1 : 0 }
        return nil
    }
}

final class PickleGlobal {
    let module: String
    let name: String
    let allowed: Bool
    var qualifiedName: String { module + "." + name }

    init(module: String, name: String, allowed: Bool) {
        self.module = module
        self.name = name
        self.allowed = allowed
    }
}

struct PickleTuple {
    /// Retained items (at most `maxRetainedItems`).
    var items: [PickleValue]
    /// The real item count.
    var count: Int
    var depth: Int
    var isComplete: Bool { items.count == count }
}

struct PickleDict {
    /// Retained entries (at most `maxRetainedItems`).
    var entries: [(key: PickleValue, value: PickleValue)]
    var count: Int
    var depth: Int

    func value(forTextKey key: String) -> PickleValue? {
        entries.first { $0.key.text == key }?.value
    }
}

/// Never changed once made, except `memoIndex`, which is set once: `BUILD` makes a new
/// object with the state (and replaces the memo slot's copy).
final class PickleObject {
    let callable: PickleValue
    let args: PickleValue
    let state: PickleValue?
    let depth: Int
    /// The memo slot this object was first stored in, so `BUILD` can update that copy too.
    private(set) var memoIndex: Int?

    init(callable: PickleValue, args: PickleValue, state: PickleValue?, depth: Int, memoIndex: Int?) {
        self.callable = callable
        self.args = args
        self.state = state
        self.depth = depth
        self.memoIndex = memoIndex
    }

    /// Records the first memo slot the object is stored in; later ones are not tracked.
    ///
    /// A joblib fork (`PickleFork`) shares the objects made before it, so the first reading
    /// may set this for the second. That can only make the second reading's `BUILD` put an
    /// object in a memo slot: a name later fetched from there is not literal, which is a
    /// finding, so nothing can be hidden that way.
    func memoized(at index: Int) {
        if memoIndex == nil { memoIndex = index }
    }

    var callableGlobal: PickleGlobal? {
        if case .global(let global) = callable { return global }
        return nil
    }
}
