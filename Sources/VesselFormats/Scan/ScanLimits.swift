/// Named limits that bound the scanner's memory and time on hostile input.
///
/// Lengths read from a file are never trusted for allocation: anything above these limits is
/// reported (`limit-exceeded` or `decompression-bomb`) instead of being read.
public struct ScanLimits: Sendable, Hashable {
    /// Largest pickle string, bytes or line the analyzer materialises; longer payloads are skipped.
    public var maxRetainedString: Int
    /// Longest protocol 0 text line (`GLOBAL`, `INT`, `STRING`…) accepted.
    public var maxLineLength: Int
    /// Deepest pickle stack plus mark stack accepted.
    public var maxStackDepth: Int
    /// Most memo entries accepted in one pickle.
    public var maxMemoEntries: Int
    /// Deepest nesting of tuples/objects the analyzer models; deeper values become opaque.
    public var maxValueNesting: Int
    /// Most items retained per modelled dict or tuple (extra items are counted, not kept).
    public var maxRetainedItems: Int
    /// Most pickles accepted in one stream (legacy PyTorch stacks five).
    public var maxPicklesPerStream: Int
    /// Most members accepted in one zip archive.
    public var maxZipEntries: Int
    /// Largest size a zip member may inflate to while being scanned, and may declare in the
    /// central directory whether it is read or not (stored members, which do not inflate,
    /// excepted).
    public var maxInflatedMemberBytes: UInt64
    /// Largest inflate ratio (output / input) once `ratioGraceBytes` have been produced; also
    /// applied to every zip member's declared sizes, read or not.
    public var maxInflateRatio: UInt64
    /// Output below this size is never judged by ratio (small members compress oddly).
    public var ratioGraceBytes: UInt64
    /// Largest size a joblib stream may inflate to; arrays are streamed, not held.
    public var maxJoblibInflatedBytes: UInt64
    /// Largest `.npy` header accepted (NumPy's own default `max_header_size`).
    public var maxNumpyHeaderBytes: Int
    /// Largest Keras `config.json` accepted.
    public var maxKerasConfigBytes: Int
    /// Deepest folder recursion in `scan(paths:)`.
    public var maxDirectoryDepth: Int

    /// The reviewed defaults.
    public static let `default` = ScanLimits(
        maxRetainedString: 4096,
        maxLineLength: 16 << 20,
        maxStackDepth: 1 << 20,
        maxMemoEntries: 1 << 22,
        maxValueNesting: 64,
        maxRetainedItems: 256,
        maxPicklesPerStream: 64,
        maxZipEntries: 1 << 20,
        maxInflatedMemberBytes: 1 << 30,
        maxInflateRatio: 200,
        ratioGraceBytes: 1 << 20,
        maxJoblibInflatedBytes: 64 << 30,
        maxNumpyHeaderBytes: 10_000,
        maxKerasConfigBytes: 64 << 20,
        maxDirectoryDepth: 64
    )

    public init(
        maxRetainedString: Int, maxLineLength: Int, maxStackDepth: Int, maxMemoEntries: Int,
        maxValueNesting: Int, maxRetainedItems: Int, maxPicklesPerStream: Int, maxZipEntries: Int,
        maxInflatedMemberBytes: UInt64, maxInflateRatio: UInt64, ratioGraceBytes: UInt64,
        maxJoblibInflatedBytes: UInt64, maxNumpyHeaderBytes: Int, maxKerasConfigBytes: Int,
        maxDirectoryDepth: Int
    ) {
        self.maxRetainedString = maxRetainedString
        self.maxLineLength = maxLineLength
        self.maxStackDepth = maxStackDepth
        self.maxMemoEntries = maxMemoEntries
        self.maxValueNesting = maxValueNesting
        self.maxRetainedItems = maxRetainedItems
        self.maxPicklesPerStream = maxPicklesPerStream
        self.maxZipEntries = maxZipEntries
        self.maxInflatedMemberBytes = maxInflatedMemberBytes
        self.maxInflateRatio = maxInflateRatio
        self.ratioGraceBytes = ratioGraceBytes
        self.maxJoblibInflatedBytes = maxJoblibInflatedBytes
        self.maxNumpyHeaderBytes = maxNumpyHeaderBytes
        self.maxKerasConfigBytes = maxKerasConfigBytes
        self.maxDirectoryDepth = maxDirectoryDepth
    }
}
