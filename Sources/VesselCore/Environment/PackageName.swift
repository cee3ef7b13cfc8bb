/// Python package names compared as PEP 503 says: runs of `-`, `_` and `.` become one `-`,
/// letters lowercase (`Foo.Bar_baz` → `foo-bar-baz`).
public enum PackageName {
    public static func normalize(_ name: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(name.utf8.count)
        var inRun = false
        for byte in name.utf8 {
            if byte == 0x2D || byte == 0x5F || byte == 0x2E {
                if !inRun { out.append(0x2D) }
                inRun = true
            } else {
                out.append(VersionScanner.lower(byte))
                inRun = false
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
