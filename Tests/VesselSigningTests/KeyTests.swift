import Testing
@testable import VesselSigning

@Suite("Keys")
struct KeyTests {
    @Test("P-256 and P-384 private keys load from PKCS#8 and SEC1 and give the openssl key hint",
          arguments: [
            (Fixtures.p256SEC1WithParameters, ECCurve.p256, Fixtures.p256Hint),
            (Fixtures.p256PKCS8, .p256, Fixtures.p256Hint),
            (Fixtures.p384SEC1, .p384, Fixtures.p384Hint),
            (Fixtures.p384PKCS8, .p384, Fixtures.p384Hint),
          ])
    func privateKeys(pem: String, curve: ECCurve, hint: String) throws {
        let key = try FileSigningKey(pem: pem)
        #expect(key.publicKey.curve == curve)
        #expect(key.publicKey.hint == hint)
    }

    @Test("the public key PEM is re-rendered exactly as `openssl ec -pubout` writes it")
    func canonicalPEM() throws {
        let p256 = try VerificationKey(pem: Fixtures.p256Public)
        #expect(p256.pemRepresentation == Fixtures.p256Public)
        #expect(p256.hint == Fixtures.p256Hint)
        let p384 = try VerificationKey(pem: Fixtures.p384Public)
        #expect(p384.pemRepresentation == Fixtures.p384Public)
        #expect(p384.hint == Fixtures.p384Hint)
    }

    @Test("the hint does not depend on the user's file layout (CRLF, no trailing newline, other blocks)")
    func hintIgnoresFileBytes() throws {
        let crlf = Fixtures.p256Public.replacingOccurrences(of: "\n", with: "\r\n")
        let trimmed = String(Fixtures.p256Public.dropLast())
        let withParams = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + Fixtures.p256Public
        for text in [crlf, trimmed, withParams] {
            #expect(try VerificationKey(pem: text).hint == Fixtures.p256Hint)
        }
    }

    @Test("signatures are DER, hashed per curve, and verify with the public key", arguments: [Fixtures.p256PKCS8, Fixtures.p384SEC1])
    func signAndVerify(pem: String) throws {
        let key = try FileSigningKey(pem: pem)
        let message = Array("hello".utf8)
        let signature = try key.sign(message)
        #expect(signature.first == 0x30)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(signature, for: Array("hellO".utf8)))
        let raw = ECCurve.p256.digest(message)
        #expect(!key.publicKey.isValidSignature(signature, for: raw))
    }

    @Test("unsupported and unreadable private keys are refused with distinct errors")
    func badPrivateKeys() {
        #expect(throws: KeyError.unsupportedKey("found a RSA PRIVATE KEY block")) {
            try FileSigningKey(pem: Fixtures.rsaPrivate.replacingOccurrences(of: "PRIVATE KEY", with: "RSA PRIVATE KEY"))
        }
        for pem in [Fixtures.rsaPrivate, Fixtures.ed25519Private, Fixtures.secp256k1Private] {
            #expect(throws: KeyError.self) { try FileSigningKey(pem: pem) }
            do {
                _ = try FileSigningKey(pem: pem)
            } catch {
                #expect(error.code == "unsupported_key")
                #expect(error.isUnreadableInput)
            }
        }
        #expect(throws: KeyError.encryptedPrivateKey) {
            try FileSigningKey(pem: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
        }
        #expect(throws: KeyError.encryptedPrivateKey) {
            try FileSigningKey(pem: "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n")
        }
        let cases: [(String, String)] = [
            ("", "invalid_private_key"),
            ("not a key", "invalid_private_key"),
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n", "invalid_private_key"),
            ("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", "invalid_private_key"),
            (Fixtures.p256Public, "invalid_private_key"),
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "unsupported_key"),
        ]
        for (pem, code) in cases {
            do {
                _ = try FileSigningKey(pem: pem)
                Issue.record("accepted \(pem)")
            } catch {
                #expect(error.code == code, "\(pem)")
            }
        }
    }

    @Test("public keys: private PEMs, garbage and other key types are refused")
    func badPublicKeys() {
        for (pem, code) in [(Fixtures.p256PKCS8, "invalid_public_key"), ("", "invalid_public_key"),
                            ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "unsupported_key")] {
            do {
                _ = try VerificationKey(pem: pem)
                Issue.record("accepted \(pem)")
            } catch {
                #expect(error.code == code)
            }
        }
    }

    @Test("a key file that does not exist is an unreadable_key_file error")
    func missingFile() {
        do {
            _ = try FileSigningKey(contentsOfFile: "/nonexistent/key.pem")
            Issue.record("no error")
        } catch {
            #expect(error.code == "unreadable_key_file")
        }
    }

    @Test("raw r‖s converts to DER that verifies")
    func rawToDER() throws {
        let key = try FileSigningKey(pem: Fixtures.p384PKCS8)
        guard case .p384(let privateKey) = key.storage else {
            Issue.record("not P-384")
            return
        }
        let message = Array("m".utf8)
        let raw = Array(try privateKey.signature(for: message).rawRepresentation)
        let der = try #require(ECDSASignatureEncoding.der(fromRaw: raw, curve: .p384))
        #expect(key.publicKey.isValidSignature(der, for: message))
        #expect(ECDSASignatureEncoding.der(fromRaw: Array(raw.dropLast()), curve: .p384) == nil)
    }
}
