/// Text made safe to print on a terminal: every control character shown as `\xNN` instead of
/// being sent to the terminal, which would obey it.
///
/// A file path, description or reason is chosen by whoever pushed it; printed raw, an
/// `ESC ] 0 ; … BEL` retitles the reader's window, `ESC [ … m` recolours what follows, a
/// carriage return or newline forges a line of `vessel audit` that never happened. Escaped
/// are C0 (U+0000–U+001F, newline and tab included: a field prints as one line), DEL (U+007F)
/// and C1 (U+0080–U+009F, e.g. U+009B, the one-character CSI). Everything else — non-ASCII
/// letters, emoji, a backslash — is printed as it is, so the escaped form can be ambiguous
/// (`\x1b` typed literally looks the same); it is for reading, not for parsing (`--json` is).
public enum TerminalText {
    /// `text` with every control character (see the type) as `\x` and two lowercase hex
    /// digits; `text` itself when it has none.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else {
                out.append(scalar)
                continue
            }
            out.append(contentsOf: "\\x".unicodeScalars)
            out.append(hexDigits[Int(scalar.value >> 4)])
            out.append(hexDigits[Int(scalar.value & 0x0F)])
        }
        return String(out)
    }

    /// Whether `scalar` is C0, DEL or C1.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    private static let hexDigits = Array("0123456789abcdef".unicodeScalars)
}
