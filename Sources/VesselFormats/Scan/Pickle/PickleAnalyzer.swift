/// Findings and imports gathered while analysing the pickles of one file or member.
struct PickleReport {
    var member: String?
    var findings: [ScanFinding] = []
    var imports: [ScanImport] = []
    /// Set once a joblib `NumpyArrayWrapper` was built: from there on plain `pickle.load`
    /// and joblib read the stream differently.
    var sawArrayWrapper = false

    init(member: String?) {
        self.member = member
    }
}

/// Where `joblib.load` and `pickle.load` part ways in one pickle: the machine and reader just
/// after the first joblib `NumpyArrayWrapper` was built, before its array bytes.
struct PickleFork<S: ScanChunkSource> {
    var machine: PickleMachine
    var reader: ScanByteReader<S>
}

/// Walks the opcodes of one pickle (protocols 0–5) without executing anything.
///
/// It tracks the stack, the mark stack and the memo well enough to resolve `GLOBAL`,
/// `STACK_GLOBAL` (also with names from the memo), `INST`, `OBJ`, `NEWOBJ`, `NEWOBJ_EX`,
/// `REDUCE` and `BUILD`, judges every import and reports it with its opcode and offset.
/// Structural errors (truncation, unknown opcodes, underflow, bad memo references, lengths
/// past the named limits) end the walk with a `ScanProblem`.
struct PickleAnalyzer {
    let judge: PickleImportJudge
    let limits: ScanLimits

    init(judge: PickleImportJudge, limits: ScanLimits) {
        self.judge = judge
        self.limits = limits
    }

    /// Scans one pickle from the reader's position through its `STOP`.
    ///
    /// With `joblibArrays`, a `BUILD` of `joblib.numpy_pickle.NumpyArrayWrapper` is followed,
    /// as `joblib.load` does, by inline array bytes (skipped) or a nested pickle (scanned).
    func scanOne<S: ScanChunkSource>(
        _ reader: inout ScanByteReader<S>, report: inout PickleReport, joblibArrays: Bool
    ) throws {
        var unused: PickleFork<S>?
        try run(PickleMachine(limits: limits), &reader, &report, joblibArrays: joblibArrays, fork: &unused, keepFork: false)
    }

    /// `scanOne` with joblib arrays, keeping in `fork` the state right after the first array
    /// wrapper's `BUILD` (if any), so `resume` can finish the pickle as `pickle.load` reads it.
    func scanOne<S: ScanChunkSource>(
        _ reader: inout ScanByteReader<S>, report: inout PickleReport, fork: inout PickleFork<S>?
    ) throws {
        try run(PickleMachine(limits: limits), &reader, &report, joblibArrays: true, fork: &fork, keepFork: true)
    }

    /// Finishes a forked pickle as plain opcodes, through its `STOP`: where `joblib.load`
    /// skips array bytes, `pickle.load` reads on, and whatever it would import is reported.
    func resume<S: ScanChunkSource>(_ fork: PickleFork<S>, report: inout PickleReport) throws {
        var reader = fork.reader
        var unused: PickleFork<S>?
        try run(fork.machine, &reader, &report, joblibArrays: false, fork: &unused, keepFork: false)
    }

    private func run<S: ScanChunkSource>(
        _ start: PickleMachine, _ reader: inout ScanByteReader<S>, _ report: inout PickleReport,
        joblibArrays: Bool, fork: inout PickleFork<S>?, keepFork: Bool
    ) throws {
        var machine = start
        var wrapper: PickleObject?
        while true {
            let at = reader.offset
            guard let op = try reader.readByte() else {
                throw ScanProblem.truncated("pickle ends without STOP", at: at)
            }
            if op == 0x2E { // STOP
                _ = try machine.pop(at)
                return
            }
            try step(op, at: at, &machine, &reader, &report, &wrapper)
            // Only a BUILD can set `wrapper`: testing the opcode first keeps the optional (a
            // 137-byte copy) out of every other opcode's path.
            if op == 0x62, let built = wrapper {
                wrapper = nil
                guard joblibArrays else { continue }
                if keepFork && fork == nil { fork = PickleFork(machine: machine, reader: reader) }
                try readJoblibArray(built, &reader, &report, at)
            }
        }
    }

    // MARK: - Opcodes

    /// Applies one opcode; a `BUILD` (0x62) of a joblib array wrapper sets `wrapper`.
    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private func step<S: ScanChunkSource>(
        _ op: UInt8, at: Int, _ m: inout PickleMachine, _ reader: inout ScanByteReader<S>,
        _ report: inout PickleReport, _ wrapper: inout PickleObject?
    ) throws {
        switch op {
        case 0x80: // PROTO
            let version = try reader.requireByte("PROTO")
            guard version <= 5 else { throw ScanProblem.malformed("unsupported pickle protocol \(version)", at: at) }
            m.protocolVersion = Int(version)
        case 0x95: // FRAME
            _ = try reader.readLittleEndian(8, "FRAME")
        case 0x28: // MARK
            try m.mark(at)
        case 0x30: // POP
            if m.frameIsEmpty { try m.dropMark(at) } else { _ = try m.pop(at) }
        case 0x31: // POP_MARK
            try m.dropMark(at)
        case 0x32: // DUP
            try m.push(try m.top(at), at)
        case 0x4E: try m.push(.none, at) // NONE
        case 0x88: try m.push(.bool(true), at) // NEWTRUE
        case 0x89: try m.push(.bool(false), at) // NEWFALSE
        case 0x49: // INT
            let line = try reader.readLine(maxLength: limits.maxLineLength, "INT")
            if line.elementsEqual("00".utf8) { try m.push(.bool(false), at) }
            else if line.elementsEqual("01".utf8) { try m.push(.bool(true), at) }
            else { try m.push(.int(try Self.parseInteger(line, at)), at) }
        case 0x4C: // LONG
            let line = try reader.readLine(maxLength: limits.maxLineLength, "LONG")
            var digits = line
            if digits.last == UInt8(ascii: "L") { digits = digits.dropLast() }
            try m.push(.int(try Self.parseInteger(digits, at)), at)
        case 0x46: // FLOAT
            _ = try reader.readLine(maxLength: limits.maxLineLength, "FLOAT")
            try m.push(.float, at)
        case 0x47: // BINFLOAT
            _ = try reader.readBytes(8, "BINFLOAT")
            try m.push(.float, at)
        case 0x4A: // BININT
            let raw = try reader.readLittleEndian(4, "BININT")
            try m.push(.int(Int64(Int32(truncatingIfNeeded: UInt32(truncatingIfNeeded: raw)))), at)
        case 0x4B: // BININT1
            try m.push(.int(Int64(try reader.requireByte("BININT1"))), at)
        case 0x4D: // BININT2
            try m.push(.int(Int64(try reader.readLittleEndian(2, "BININT2"))), at)
        case 0x8A: // LONG1
            let count = Int(try reader.requireByte("LONG1"))
            try m.push(.int(Self.twosComplement(try reader.readBytes(count, "LONG1"))), at)
        case 0x8B: // LONG4
            let count = try signedLength(&reader, "LONG4", at)
            if count <= limits.maxRetainedString {
                try m.push(.int(Self.twosComplement(try reader.readBytes(Int(count), "LONG4"))), at)
            } else {
                try reader.skip(count, "LONG4")
                try m.push(.int(nil), at)
            }
        case 0x53: // STRING
            let line = try reader.readLine(maxLength: limits.maxLineLength, "STRING")
            guard line.count >= 2, let first = line.first, first == line.last,
                  first == UInt8(ascii: "'") || first == UInt8(ascii: "\"")
            else { throw ScanProblem.malformed("STRING argument is not quoted", at: at) }
            let body = line.dropFirst().dropLast()
            try m.push(.text(body.count <= limits.maxRetainedString ? PickleText.escapeDecoded(body) : nil), at)
        case 0x56: // UNICODE
            let line = try reader.readLine(maxLength: limits.maxLineLength, "UNICODE")
            try m.push(.text(line.count <= limits.maxRetainedString ? PickleText.rawUnicodeEscapeDecoded(line) : nil), at)
        case 0x54: // BINSTRING
            try pushText(length: try signedLength(&reader, "BINSTRING", at), latin1: true, &m, &reader, "BINSTRING", at)
        case 0x55: // SHORT_BINSTRING
            try pushText(length: UInt64(try reader.requireByte("SHORT_BINSTRING")), latin1: true, &m, &reader, "SHORT_BINSTRING", at)
        case 0x58: // BINUNICODE
            try pushText(length: try reader.readLittleEndian(4, "BINUNICODE"), latin1: false, &m, &reader, "BINUNICODE", at)
        case 0x8C: // SHORT_BINUNICODE
            try pushText(length: UInt64(try reader.requireByte("SHORT_BINUNICODE")), latin1: false, &m, &reader, "SHORT_BINUNICODE", at)
        case 0x8D: // BINUNICODE8
            try pushText(length: try reader.readLittleEndian(8, "BINUNICODE8"), latin1: false, &m, &reader, "BINUNICODE8", at)
        case 0x42: // BINBYTES
            try reader.skip(try reader.readLittleEndian(4, "BINBYTES"), "BINBYTES")
            try m.push(.bytes, at)
        case 0x43: // SHORT_BINBYTES
            try reader.skip(UInt64(try reader.requireByte("SHORT_BINBYTES")), "SHORT_BINBYTES")
            try m.push(.bytes, at)
        case 0x8E: // BINBYTES8
            try reader.skip(try reader.readLittleEndian(8, "BINBYTES8"), "BINBYTES8")
            try m.push(.bytes, at)
        case 0x96: // BYTEARRAY8
            try reader.skip(try reader.readLittleEndian(8, "BYTEARRAY8"), "BYTEARRAY8")
            try m.push(.bytes, at)
        case 0x97: // NEXT_BUFFER
            try m.push(.opaque, at)
        case 0x98: // READONLY_BUFFER
            _ = try m.top(at)
        case 0x29: try m.push(m.tuple([]), at) // EMPTY_TUPLE
        case 0x74: try m.push(m.tuple(try m.popMark(at)), at) // TUPLE
        case 0x85: // TUPLE1
            let a = try m.pop(at)
            try m.push(m.tuple([a]), at)
        case 0x86: // TUPLE2
            let b = try m.pop(at), a = try m.pop(at)
            try m.push(m.tuple([a, b]), at)
        case 0x87: // TUPLE3
            let c = try m.pop(at), b = try m.pop(at), a = try m.pop(at)
            try m.push(m.tuple([a, b, c]), at)
        case 0x5D: try m.push(.list, at) // EMPTY_LIST
        case 0x6C: // LIST
            try m.dropMark(at)
            try m.push(.list, at)
        case 0x61: // APPEND
            _ = try m.pop(at)
            _ = try m.top(at)
        case 0x65: // APPENDS
            try m.dropMark(at)
            _ = try m.top(at)
        case 0x7D: try m.push(m.dict([]), at) // EMPTY_DICT
        case 0x64: // DICT
            let items = try m.popMark(at)
            guard items.count % 2 == 0 else { throw ScanProblem.malformed("DICT with an odd number of items", at: at) }
            try m.push(m.dict(items), at)
        case 0x73: try m.setItem(at) // SETITEM
        case 0x75: try m.setItems(at) // SETITEMS
        case 0x8F: try m.push(.set, at) // EMPTY_SET
        case 0x90: // ADDITEMS
            try m.dropMark(at)
            _ = try m.top(at)
        case 0x91: // FROZENSET
            try m.dropMark(at)
            try m.push(.set, at)
        case 0x63: // GLOBAL
            let module = try lineText(&reader, "GLOBAL", at)
            let name = try lineText(&reader, "GLOBAL", at)
            try m.push(recordImport(module: module, name: name, opcode: "GLOBAL", at: at, m.protocolVersion, &report), at)
        case 0x93: // STACK_GLOBAL
            let nameValue = try m.pop(at), moduleValue = try m.pop(at)
            if let module = moduleValue.text, let name = nameValue.text {
                try m.push(recordImport(module: module, name: name, opcode: "STACK_GLOBAL", at: at, m.protocolVersion, &report), at)
            } else {
                report.findings.append(ScanFinding(
                    severity: .critical, kind: .nonLiteralGlobal,
                    detail: "STACK_GLOBAL with module \(moduleValue.summary) and name \(nameValue.summary)",
                    offset: at, member: report.member))
                try m.push(.global(PickleGlobal(module: "?", name: "?", allowed: false)), at)
            }
        case 0x69: // INST
            let module = try lineText(&reader, "INST", at)
            let name = try lineText(&reader, "INST", at)
            let callable = recordImport(module: module, name: name, opcode: "INST", at: at, m.protocolVersion, &report)
            let args = try m.popMark(at)
            try m.push(m.object(callable, args: m.tuple(args)), at)
        case 0x6F: // OBJ
            var items = try m.popMark(at)
            guard !items.isEmpty else { throw ScanProblem.malformed("OBJ without a class", at: at) }
            let callable = items.removeFirst()
            checkCallable(callable, "OBJ", at, &report)
            try m.push(m.object(callable, args: m.tuple(items)), at)
        case 0x81: // NEWOBJ
            let args = try m.pop(at), callable = try m.pop(at)
            checkCallable(callable, "NEWOBJ", at, &report)
            try m.push(m.object(callable, args: args), at)
        case 0x92: // NEWOBJ_EX
            _ = try m.pop(at)
            let args = try m.pop(at), callable = try m.pop(at)
            checkCallable(callable, "NEWOBJ_EX", at, &report)
            try m.push(m.object(callable, args: args), at)
        case 0x52: // REDUCE
            let args = try m.pop(at), callable = try m.pop(at)
            checkCallable(callable, "REDUCE", at, &report)
            try m.push(m.object(callable, args: args), at)
        case 0x62: // BUILD
            let state = try m.pop(at)
            if let built = try m.build(state: state, at) {
                report.sawArrayWrapper = true
                wrapper = built
            }
        case 0x70: // PUT
            try m.memoize(at: try Self.memoIndex(try reader.readLine(maxLength: limits.maxLineLength, "PUT"), at), at)
        case 0x71: // BINPUT
            try m.memoize(at: Int(try reader.requireByte("BINPUT")), at)
        case 0x72: // LONG_BINPUT
            try m.memoize(at: Int(try reader.readLittleEndian(4, "LONG_BINPUT")), at)
        case 0x94: // MEMOIZE
            try m.memoize(at: m.memo.count, at)
        case 0x67: // GET
            try m.fetch(try Self.memoIndex(try reader.readLine(maxLength: limits.maxLineLength, "GET"), at), at)
        case 0x68: // BINGET
            try m.fetch(Int(try reader.requireByte("BINGET")), at)
        case 0x6A: // LONG_BINGET
            try m.fetch(Int(try reader.readLittleEndian(4, "LONG_BINGET")), at)
        case 0x50: // PERSID
            _ = try reader.readLine(maxLength: limits.maxLineLength, "PERSID")
            try m.push(.opaque, at)
        case 0x51: // BINPERSID
            _ = try m.pop(at)
            try m.push(.opaque, at)
        case 0x82, 0x83, 0x84: // EXT1, EXT2, EXT4
            let width = op == 0x82 ? 1 : (op == 0x83 ? 2 : 4)
            let code = try reader.readLittleEndian(width, "EXT")
            report.findings.append(ScanFinding(
                severity: .high, kind: .extensionImport,
                detail: "EXT\(width) \(code) imports through the copyreg extension registry",
                offset: at, member: report.member))
            try m.push(.global(PickleGlobal(module: "copyreg", name: "extension \(code)", allowed: false)), at)
        default:
            throw ScanProblem.malformed("unknown opcode 0x\(String(op, radix: 16))", at: at)
        }
    }

    // MARK: - Imports and calls

    private func recordImport(
        module: String, name: String, opcode: String, at: Int, _ protocolVersion: Int,
        _ report: inout PickleReport
    ) -> PickleValue {
        let judgment = judge.judge(module: module, name: name, protocolVersion: protocolVersion)
        report.imports.append(ScanImport(
            module: module, name: name, opcode: opcode, offset: at, member: report.member,
            allowed: judgment == .allowed))
        switch judgment {
        case .allowed:
            break
        case .dangerous(let reason):
            report.findings.append(ScanFinding(
                severity: .critical, kind: .dangerousImport, detail: "\(opcode) \(module).\(name): \(reason)",
                offset: at, member: report.member))
        case .unknown:
            report.findings.append(ScanFinding(
                severity: .high, kind: .unknownImport, detail: "\(opcode) \(module).\(name) is not on the allowlist",
                offset: at, member: report.member))
        }
        return .global(PickleGlobal(module: module, name: name, allowed: judgment == .allowed))
    }

    /// A call whose callable is not an import calls a computed value: a finding.
    private func checkCallable(_ callable: PickleValue, _ opcode: String, _ at: Int, _ report: inout PickleReport) {
        if case .global = callable { return }
        report.findings.append(ScanFinding(
            severity: .high, kind: .indirectCall, detail: "\(opcode) calls \(callable.summary)",
            offset: at, member: report.member))
    }

    // MARK: - joblib inline arrays

    private func readJoblibArray<S: ScanChunkSource>(
        _ wrapper: PickleObject, _ reader: inout ScanByteReader<S>, _ report: inout PickleReport, _ at: Int
    ) throws {
        guard case .dict(let state)? = wrapper.state,
              let dtype = state.value(forTextKey: "dtype"), let shape = state.value(forTextKey: "shape"),
              let layout = PickleNumpyDtype(pickled: dtype)
        else { throw ScanProblem.malformed("joblib array wrapper without a readable dtype and shape", at: at) }
        if layout.hasObject {
            var nested = PickleReport(member: report.member)
            defer {
                report.findings += nested.findings
                report.imports += nested.imports
            }
            try scanOne(&reader, report: &nested, joblibArrays: false)
            return
        }
        guard case .tuple(let dims) = shape, dims.isComplete else {
            throw ScanProblem.malformed("joblib array wrapper with an unreadable shape", at: at)
        }
        var byteCount = UInt64(layout.itemSize)
        for dim in dims.items {
            guard let value = dim.int, value >= 0 else {
                throw ScanProblem.malformed("joblib array shape holds a non-integer or negative size", at: at)
            }
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: UInt64(value))
            guard !overflow else { throw ScanProblem.limit("joblib array size overflows", at: at) }
            byteCount = product
        }
        if let alignment = state.value(forTextKey: "numpy_array_alignment_bytes"), alignment.int != nil {
            let padding = try reader.requireByte("joblib array padding")
            try reader.skip(UInt64(padding), "joblib array padding")
        }
        try reader.skip(byteCount, "joblib array data")
    }

    // MARK: - Argument helpers

    private func pushText<S: ScanChunkSource>(
        length: UInt64, latin1: Bool, _ m: inout PickleMachine, _ reader: inout ScanByteReader<S>,
        _ what: String, _ at: Int
    ) throws {
        if length <= UInt64(limits.maxRetainedString) {
            let bytes = try reader.readBytes(Int(length), what)
            try m.push(.text(latin1 ? PickleText.latin1(bytes) : PickleText.utf8(bytes)), at)
        } else {
            try reader.skip(length, what)
            try m.push(.text(nil), at)
        }
    }

    private func signedLength<S: ScanChunkSource>(_ reader: inout ScanByteReader<S>, _ what: String, _ at: Int) throws -> UInt64 {
        let raw = try reader.readLittleEndian(4, what)
        guard Int32(truncatingIfNeeded: UInt32(truncatingIfNeeded: raw)) >= 0 else {
            throw ScanProblem.malformed("\(what) with a negative length", at: at)
        }
        return raw
    }

    private func lineText<S: ScanChunkSource>(_ reader: inout ScanByteReader<S>, _ what: String, _ at: Int) throws -> String {
        let line = try reader.readLine(maxLength: limits.maxRetainedString, what)
        guard let text = PickleText.utf8(line) else { throw ScanProblem.malformed("\(what) name is not UTF-8", at: at) }
        return text
    }

    static func parseInteger(_ line: ArraySlice<UInt8>, _ at: Int) throws -> Int64? {
        let text = String(decoding: line, as: UTF8.self).trimmingSpaces
        guard !text.isEmpty else { throw ScanProblem.malformed("empty integer literal", at: at) }
        if let value = Int64(text) { return value }
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isHexDigit || "xXoObB_".contains($0)) }) else {
            throw ScanProblem.malformed("invalid integer literal", at: at)
        }
        return nil
    }

    static func memoIndex(_ line: ArraySlice<UInt8>, _ at: Int) throws -> Int {
        guard let value = Int(String(decoding: line, as: UTF8.self).trimmingSpaces), value >= 0 else {
            throw ScanProblem.malformed("invalid memo index", at: at)
        }
        return value
    }

    static func twosComplement(_ bytes: ArraySlice<UInt8>) -> Int64? {
        guard bytes.count <= 8 else { return nil }
        guard let last = bytes.last else { return 0 }
        var value: UInt64 = last & 0x80 != 0 ? UInt64.max : 0
        for byte in bytes.reversed() { value = (value << 8) | UInt64(byte) }
        return Int64(bitPattern: value)
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" || first == "\r" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" || last == "\r" { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
