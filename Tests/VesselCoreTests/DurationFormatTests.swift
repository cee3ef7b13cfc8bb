import Testing
import VesselCore

/// `Timestamp.formatDuration`: how retry notices show a pause and what is left.
@Suite struct DurationFormatTests {
    @Test func writtenAsPeopleReadThem() {
        #expect(Timestamp.formatDuration(.milliseconds(2100)) == "2.1s")
        #expect(Timestamp.formatDuration(.milliseconds(250)) == "0.3s")
        #expect(Timestamp.formatDuration(.zero) == "0.0s")
        #expect(Timestamp.formatDuration(.milliseconds(9_990)) == "10.0s")
        #expect(Timestamp.formatDuration(.seconds(42)) == "42s")
        #expect(Timestamp.formatDuration(.seconds(100)) == "1m40s")
        #expect(Timestamp.formatDuration(.seconds(120)) == "2m")
        #expect(Timestamp.formatDuration(.seconds(3900)) == "1h5m")
        #expect(Timestamp.formatDuration(.seconds(7200)) == "2h")
        #expect(Timestamp.formatDuration(.seconds(-3)) == "0.0s")
    }

    @Test func aParsedDurationReadsBackTheSame() throws {
        for text in ["45s", "2m", "12h"] {
            #expect(Timestamp.formatDuration(.seconds(try Timestamp.parseDuration(text))) == text)
        }
    }
}
