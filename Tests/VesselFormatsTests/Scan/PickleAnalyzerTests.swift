import Testing
@testable import VesselFormats

/// Handcrafted pickles: import resolution, offsets, and one test per structural error.
@Suite("Pickle analyzer")
struct PickleAnalyzerTests {
    private func kinds(_ bytes: [UInt8], limits: ScanLimits = .default) -> (Set<ScanFindingKind>, ScanFindingKind?) {
        let outcome = ScanTestSupport.analyze(bytes, limits: limits)
        return (Set(outcome.report.findings.map(\.kind)), outcome.problem?.kind)
    }

    @Test func globalImportIsReportedWithOpcodeAndOffset() throws {
        let bytes: [UInt8] = [0x80, 0x02] + global("os", "system") + [0x29, 0x52, 0x2E]
        let outcome = ScanTestSupport.analyze(bytes)
        #expect(outcome.problem == nil)
        let item = try #require(outcome.report.imports.first)
        #expect(item.module == "os" && item.name == "system" && item.opcode == "GLOBAL" && item.offset == 2 && !item.allowed)
        let finding = try #require(outcome.report.findings.first)
        #expect(finding.kind == .dangerousImport && finding.severity == .critical && finding.offset == 2)
    }

    @Test func stackGlobalResolvesNamesFromTheMemo() throws {
        // 0: PROTO 4 | 2: 'os' | 6: MEMOIZE | 7: 'system' | 15: MEMOIZE | 16: POP | 17: POP
        // 18: BINGET 0 | 20: BINGET 1 | 22: STACK_GLOBAL
        let bytes: [UInt8] = [0x80, 0x04] + sbu("os") + [0x94] + sbu("system") + [0x94, 0x30, 0x30,
                              0x68, 0, 0x68, 1, 0x93, 0x29, 0x52, 0x2E]
        let outcome = ScanTestSupport.analyze(bytes)
        #expect(outcome.problem == nil)
        let item = try #require(outcome.report.imports.first)
        #expect(item.module == "os" && item.name == "system" && item.opcode == "STACK_GLOBAL" && item.offset == 22)
    }

    @Test func stackGlobalWithComputedOperandsIsAFinding() {
        // STACK_GLOBAL over the result of an allowlisted call and a literal.
        let bytes: [UInt8] = [0x80, 0x04] + global("collections", "OrderedDict") + [0x29, 0x52] + sbu("system") + [0x93, 0x2E]
        let (found, problem) = kinds(bytes)
        #expect(found == [.nonLiteralGlobal])
        #expect(problem == nil)
    }

    @Test func stackGlobalWithLiteralAllowlistedNamesPasses() {
        let bytes: [UInt8] = [0x80, 0x04] + sbu("collections") + sbu("OrderedDict") + [0x93, 0x29, 0x52, 0x2E]
        let (found, problem) = kinds(bytes)
        #expect(found.isEmpty && problem == nil)
    }

    @Test func instAndObjAreImportsAndCalls() {
        #expect(kinds(ascii("(S'true'\nios\nsystem\n.")).0 == [.dangerousImport])
        #expect(kinds(ascii("(cevil\nThing\no.")).0 == [.unknownImport])
        #expect(kinds(ascii("(cos\nsystem\nS'x'\no.")).0 == [.dangerousImport])
    }

    @Test func python2NamesAreMappedLikeCPythonForOldProtocols() {
        #expect(kinds(ascii("c__builtin__\nset\n)R.")).0.isEmpty)
        #expect(kinds(ascii("c__builtin__\ngetattr\n.")).0 == [.dangerousImport])
        // Protocol 3 loads names unmapped: `__builtin__.set` is then not the allowlisted builtin.
        #expect(kinds([0x80, 0x03] + global("__builtin__", "set") + [0x2E]).0 == [.unknownImport])
    }

    @Test func dottedNamesReachingDangerousAttributesAreCritical() {
        let bytes: [UInt8] = [0x80, 0x04] + sbu("collections") + sbu("OrderedDict.__init__.__globals__") + [0x93, 0x2E]
        let outcome = ScanTestSupport.analyze(bytes)
        #expect(outcome.report.findings.map(\.severity) == [.critical])
    }

    @Test func indirectCallsAreFindings() {
        let bytes: [UInt8] = [0x80, 0x02] + global("collections", "OrderedDict") + [0x29, 0x52, 0x29, 0x52, 0x2E]
        #expect(kinds(bytes).0 == [.indirectCall])
    }

    @Test func severalPicklesInOneStreamAreAllScanned() throws {
        let first: [UInt8] = [0x80, 0x02, 0x4B, 0x01, 0x2E]
        let second: [UInt8] = [0x80, 0x02] + global("os", "system") + [0x2E]
        let outcome = ScanTestSupport.analyze(first + second)
        #expect(try #require(outcome.report.imports.first).offset == 7)
    }

    @Test func protocol0ArgumentsAreDecoded() throws {
        // STRING with escapes and UNICODE with \u escapes both resolve STACK_GLOBAL names.
        let bytes = ascii("S'o\\x73'\nVsys\\u0074em\n") + [0x93, 0x2E]
        let outcome = ScanTestSupport.analyze(bytes)
        let item = try #require(outcome.report.imports.first)
        #expect(item.module == "os" && item.name == "system")
    }

    // MARK: - Structural errors → problems (verdict invalid)

    @Test(arguments: [
        ([0x80, 0x02, 0x4B], ScanFindingKind.truncated),                           // argument cut off
        ([0x80, 0x02, 0x4B, 0x01], .truncated),                                     // no STOP
        ([0x80, 0x02, 0xFF, 0x2E], .malformed),                                     // unknown opcode
        ([0x80, 0x06, 0x2E], .malformed),                                           // protocol 6
        ([0x80, 0x02, 0x52, 0x2E], .malformed),                                     // stack underflow
        ([0x80, 0x02, 0x2E], .malformed),                                           // STOP on empty stack
        ([0x80, 0x02, 0x74, 0x2E], .malformed),                                     // mark underflow
        ([0x80, 0x02, 0x68, 0x05, 0x2E], .malformed),                               // bad memo reference
        ([0x80, 0x02, 0x71, 0x00, 0x2E], .malformed),                               // BINPUT on empty stack
        ([0x80, 0x02, 0x54, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E], .malformed),             // negative BINSTRING length
        ([0x80, 0x02, 0x28, 0x4B, 0x01, 0x64, 0x2E], .malformed),                   // DICT with odd items
        ([0x80, 0x02, 0x8D, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x2E], .truncated),          // absurd BINUNICODE8 length
        ([0x80, 0x02, 0x63, 0x6F, 0x73], .truncated),                               // GLOBAL without newline
        ([0x80, 0x02, 0x63, 0xFF, 0x0A, 0x78, 0x0A, 0x2E], .malformed),             // GLOBAL not UTF-8
        ([0x53, 0x78, 0x0A, 0x2E], .malformed),                                     // unquoted STRING
        ([0x70, 0x2D, 0x31, 0x0A, 0x2E], .malformed),                               // negative PUT
        ([UInt8](), .truncated),                                                    // nothing at all
    ] as [([UInt8], ScanFindingKind)])
    func structuralErrorsEndTheScan(_ bytes: [UInt8], _ kind: ScanFindingKind) {
        #expect(kinds(bytes).1 == kind)
    }

    @Test func limitsAreEnforced() {
        var limits = ScanLimits.default
        limits.maxStackDepth = 8
        #expect(kinds([0x80, 0x02] + [UInt8](repeating: 0x4E, count: 9) + [0x2E], limits: limits).1 == .limitExceeded)
        limits = .default
        limits.maxMemoEntries = 2
        #expect(kinds([0x80, 0x04, 0x4E, 0x94, 0x94, 0x94, 0x2E], limits: limits).1 == .limitExceeded)
        limits = .default
        limits.maxLineLength = 16
        #expect(kinds(ascii("I" + String(repeating: "1", count: 40) + "\n."), limits: limits).1 == .limitExceeded)
    }

    @Test func deeplyNestedValuesDoNotRecurse() {
        // 200,000 nested one-tuples: modelled values are capped, so nothing recurses deeply.
        let bytes: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 200_000) + [0x2E]
        let (found, problem) = kinds(bytes)
        #expect(found.isEmpty && problem == nil)
    }

    @Test func hugeLengthsAreSkippedNotAllocated() {
        // A 64 MiB BINBYTES8 declared in a 20-byte stream: truncated, without allocating.
        let bytes: [UInt8] = [0x80, 0x04, 0x8E, 0, 0, 0, 4, 0, 0, 0, 0, 0x2E]
        #expect(kinds(bytes).1 == .truncated)
    }
}
