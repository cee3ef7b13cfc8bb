import Testing
import VesselCore

@Suite("Terminal text")
struct TerminalTextTests {
    /// Every C0 control character, DEL and every C1 control character becomes `\xNN` with
    /// lowercase hex, newline and tab included: a field is one line.
    @Test func escapesEveryControlCharacter() {
        let controls = (0x00...0x1F).map { $0 } + [0x7F] + (0x80...0x9F).map { $0 }
        for value in controls {
            let scalar = Unicode.Scalar(UInt32(value))!
            let expected = "\\x" + String(value, radix: 16).leftPadded(to: 2)
            #expect(TerminalText.escaped("a\(Character(scalar))b") == "a\(expected)b", "U+\(String(value, radix: 16))")
        }
    }

    /// The attacks seen: an OSC title change and an SGR colour.
    @Test func neutralisesEscapeSequences() {
        #expect(TerminalText.escaped("\u{1b}]0;pwned\u{07}") == #"\x1b]0;pwned\x07"#)
        #expect(TerminalText.escaped("\u{1b}[31mred") == #"\x1b[31mred"#)
        #expect(TerminalText.escaped("line\nforged\ttab\r") == #"line\x0aforged\x09tab\x0d"#)
        #expect(TerminalText.escaped("\u{9b}31m") == #"\x9b31m"#)
    }

    /// Printable text, non-ASCII included, is untouched; so is a backslash.
    @Test func leavesOrdinaryTextAlone() {
        for text in ["", "plain", "é", "naïve café", "😀", "👩‍👩‍👧", "日本語", "\u{A0}\u{A1}", "C:\\path", " ~"] {
            #expect(TerminalText.escaped(text) == text)
        }
        #expect(TerminalText.escaped("é\u{1b}😀") == #"é\x1b😀"#)
    }

    @Test func classifiesScalars() {
        #expect(TerminalText.isControl("\u{1b}"))
        #expect(TerminalText.isControl("\u{7f}"))
        #expect(TerminalText.isControl("\u{85}"))
        #expect(!TerminalText.isControl("\u{a0}"))
        #expect(!TerminalText.isControl(" "))
        #expect(!TerminalText.isControl("~"))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
