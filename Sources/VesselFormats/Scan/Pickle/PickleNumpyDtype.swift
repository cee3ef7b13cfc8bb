/// Item size and object-ness of a NumPy dtype, from a `.npy` descr string or from a pickled
/// `numpy.dtype(typestr, …)` call with its `BUILD` state.
struct PickleNumpyDtype: Equatable {
    var itemSize: Int
    var hasObject: Bool

    /// Parses a type string such as `<f8`, `|b1`, `<U5`, `|S3`, `|V12`, `<M8[ns]`, `|O`.
    /// Nil for anything else (fail-closed: unrecognized dtypes are not guessed).
    init?(typeString: String) {
        var body = Substring(typeString)
        if let first = body.first, "<>|=".contains(first) { body = body.dropFirst() }
        guard let kind = body.first else { return nil }
        var rest = body.dropFirst()
        if let bracket = rest.firstIndex(of: "[") {
            guard kind == "M" || kind == "m", rest.last == "]" else { return nil }
            rest = rest[..<bracket]
        }
        let count: Int?
        if rest.isEmpty { count = nil } else {
            guard rest.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(rest) else { return nil }
            count = value
        }
        switch kind {
        case "O":
            itemSize = 8
            hasObject = true
        case "b", "i", "u", "f", "c", "S", "a", "V", "m", "M":
            guard let count else { return nil }
            itemSize = count
            hasObject = false
        case "U":
            guard let count else { return nil }
            let (size, overflow) = count.multipliedReportingOverflow(by: 4)
            guard !overflow else { return nil }
            itemSize = size
            hasObject = false
        case "?":
            guard count == nil else { return nil }
            itemSize = 1
            hasObject = false
        default:
            return nil
        }
    }

    /// From a pickled `numpy.dtype(typestr, align, copy)` object; the `BUILD` state's flags
    /// (index 7, bit 0 = `NPY_ITEM_HASOBJECT`) and element size (index 5) refine it.
    init?(pickled value: PickleValue) {
        guard case .object(let object) = value, let global = object.callableGlobal,
              global.module == "numpy", global.name == "dtype",
              case .tuple(let args) = object.args, let typeString = args.items.first?.text,
              var parsed = PickleNumpyDtype(typeString: typeString)
        else { return nil }
        if case .tuple(let state)? = object.state, state.isComplete, state.items.count >= 8 {
            if let elementSize = state.items[5].int, elementSize > 0, elementSize <= Int64(Int32.max) {
                parsed.itemSize = Int(elementSize)
            }
            if let flags = state.items[7].int, flags & 1 != 0 { parsed.hasObject = true }
        } else if typeString.dropFirst(typeString.first.map { "<>|=".contains($0) } == true ? 1 : 0).first == "V" {
            return nil // a structured dtype without state: cannot tell whether it holds objects
        }
        self = parsed
    }
}
