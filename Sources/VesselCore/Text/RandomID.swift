#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Identifiers for rows written on every change (events, audit entries, delivery attempts):
/// UUID version 7, the Unix time in milliseconds followed by 74 random bits (RFC 9562).
///
/// Two reasons not to use Foundation's `UUID()`: on Linux it opens and reads `/dev/urandom`
/// for every value (three system calls each), and its random (version 4) ids land anywhere in
/// the indexes they are keys of, so each insert dirties another page; time-ordered ids are
/// appended at the end of the index, as the sequence numbers beside them are.
public enum RandomID {
    /// Lowercase text, `xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx`: the form
    /// `UUID().uuidString.lowercased()` gives.
    public static func uuid() -> String {
        let hex = Array(Hex.encode(bytes()).utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (index, digit) in hex.enumerated() {
            if index == 8 || index == 12 || index == 16 || index == 20 { out.append(UInt8(ascii: "-")) }
            out.append(digit)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The same 128 bits as 32 lowercase hex digits, without dashes.
    public static func hex128() -> String { Hex.encode(bytes()) }

    /// 16 bytes: 48-bit big-endian milliseconds, version 7, random, variant 0b10, random.
    static func bytes(millis: UInt64 = currentMillis()) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = withUnsafeBytes(of: (generator.next() as UInt64, generator.next() as UInt64)) { Array($0) }
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - UInt64(index)))) }
        bytes[6] = bytes[6] & 0x0F | 0x70
        bytes[8] = bytes[8] & 0x3F | 0x80
        return bytes
    }

    static func currentMillis() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }
}
