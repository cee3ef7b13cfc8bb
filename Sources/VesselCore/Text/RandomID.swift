/// Random identifiers from the system generator (`getrandom`). Foundation's `UUID()` on Linux
/// opens and reads `/dev/urandom` for every value, three system calls each; ids are made on
/// every write (events, audit entries, delivery attempts), so that cost showed in profiles.
public enum RandomID {
    /// A version-4 UUID as lowercase text, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`: the form
    /// `UUID().uuidString.lowercased()` gives.
    public static func uuid() -> String {
        var bytes = randomBytes()
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = Array(Hex.encode(bytes).utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (index, digit) in hex.enumerated() {
            if index == 8 || index == 12 || index == 16 || index == 20 { out.append(UInt8(ascii: "-")) }
            out.append(digit)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// 128 random bits as 32 lowercase hex digits.
    public static func hex128() -> String { Hex.encode(randomBytes()) }

    private static func randomBytes() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return withUnsafeBytes(of: (generator.next() as UInt64, generator.next() as UInt64)) { Array($0) }
    }
}
