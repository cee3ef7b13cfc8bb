import Testing
import VesselCore

/// `vessel principal add --cert-subject` text, as stored and compared (docs/tls.md).
struct CertificateSubjectTests {
    @Test func subjectsLoseSpacesAndAttributeCaseButKeepValues() throws {
        #expect(try CertificateSubject.normalize("CN=ci-bot, O=Vessel Tests") == "CN=ci-bot,O=Vessel Tests")
        #expect(try CertificateSubject.normalize(" cn = ci-bot ,o=Vessel Tests") == "CN=ci-bot,O=Vessel Tests")
        #expect(try CertificateSubject.normalize("CN=Bot") != CertificateSubject.normalize("CN=bot"))
        #expect(try CertificateSubject.normalize("CN=a\\,b,O=x") == "CN=a\\,b,O=x")
    }

    @Test func alternativeNamesKeepTheirPrefix() throws {
        #expect(try CertificateSubject.normalize("uri:spiffe://example.org/ci") == "URI:spiffe://example.org/ci")
        #expect(try CertificateSubject.normalize("DNS:Bot.Example") == "DNS:bot.example")
    }

    @Test func malformedSubjectsAreRefused() {
        for text in ["", "ci-bot", "CN=", "=x", "CN=a,,O=b", "URI:"] {
            #expect(throws: VesselError.self, "\(text)") { try CertificateSubject.normalize(text) }
        }
    }
}
