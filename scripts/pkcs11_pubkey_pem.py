#!/usr/bin/env python3
"""Builds a PEM SubjectPublicKeyInfo for an EC key listed by `pkcs11-tool --list-objects`.

Usage: pkcs11-tool --module M --token-label T --list-objects | pkcs11_pubkey_pem.py LABEL > key.pub.pem

Reads the public key object's EC_PARAMS (DER named-curve OID) and EC_POINT (DER
OCTET STRING around the uncompressed point) and writes the SubjectPublicKeyInfo
as PEM. Exists because pkcs11-tool 0.23 cannot export P-384 keys
("cannot create EVP_PKEY"). Standard library only.
"""
import base64
import sys


def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + der_length(len(body)) + body


def unwrap_octet_string(data: bytes) -> bytes:
    if data[:1] != b"\x04":
        raise ValueError("EC_POINT is not an OCTET STRING")
    if data[1] < 0x80:
        return data[2:2 + data[1]]
    size = data[1] & 0x7F
    length = int.from_bytes(data[2:2 + size], "big")
    return data[2 + size:2 + size + length]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 64
    label = sys.argv[1]
    objects, current = [], None
    for line in sys.stdin:
        if line.startswith("Public Key Object"):
            current = {}
            objects.append(current)
        elif current is not None and ":" in line:
            key, _, value = line.strip().partition(":")
            current[key.strip()] = value.strip()
    match = [o for o in objects if o.get("label") == label]
    if len(match) != 1:
        print(f"pkcs11_pubkey_pem: expected one public key labelled {label!r}, found {len(match)}", file=sys.stderr)
        return 1
    params = bytes.fromhex(match[0]["EC_PARAMS"])
    point = unwrap_octet_string(bytes.fromhex(match[0]["EC_POINT"]))
    ec_public_key_oid = der(0x06, bytes.fromhex("2a8648ce3d0201"))
    spki = der(0x30, der(0x30, ec_public_key_oid + params) + der(0x03, b"\x00" + point))
    b64 = base64.b64encode(spki).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    sys.stdout.write("-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
