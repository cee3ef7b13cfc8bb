#!/usr/bin/env bash
# A throwaway PKI for the TLS tests and scripts/bench_tls.sh (docs/tls.md): written into DIR,
# never committed. EC P-256 keys, unencrypted PEM.
#
#   ca.pem            the test CA (ca.key)
#   other-ca.pem      a CA nobody trusts
#   server.pem/.key   localhost + 127.0.0.1, signed by ca          server2.*: the same names, a new key (rotation)
#   expired.pem/.key  localhost + 127.0.0.1, valid in 2020 only     wrongname.*: only other.example
#   untrusted.pem/.key  localhost + 127.0.0.1, signed by other-ca
#   client.pem/.key   CN=ci-bot,O=Vessel Tests + URI:spiffe://vessel.test/ci-bot, signed by ca (client auth)
#   stranger.pem/.key CN=stranger, signed by ca (mapped to nobody)
#   rogue.pem/.key    CN=ci-bot,O=Vessel Tests, signed by other-ca
set -euo pipefail
dir=${1:?usage: tls_test_pki.sh DIR}
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 3650 -subj "/O=Vessel Tests/CN=$2" -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
# leaf NAME CA SUBJECT EXTENSIONS
leaf() {
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$3" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -sha256 -days 30 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
server_ext='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1'
client_ext='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth'

ca ca "Vessel Test CA"
ca other-ca "Someone Else's CA"
leaf server ca "/CN=localhost" "$server_ext"
leaf server2 ca "/CN=localhost" "$server_ext"
leaf untrusted other-ca "/CN=localhost" "$server_ext"
leaf wrongname ca "/CN=other.example" "basicConstraints=CA:FALSE
extendedKeyUsage=serverAuth
subjectAltName=DNS:other.example"
leaf client ca "/O=Vessel Tests/CN=ci-bot" "$client_ext
subjectAltName=URI:spiffe://vessel.test/ci-bot"
leaf stranger ca "/CN=stranger" "$client_ext"
leaf rogue other-ca "/O=Vessel Tests/CN=ci-bot" "$client_ext"

# Expired: `openssl ca` is the 3.0 way to set both dates.
key expired.key
openssl req -new -key expired.key -subj "/CN=localhost" -out expired.csr 2>/dev/null
mkdir -p ca-db && : > ca-db/index.txt && echo 1000 > ca-db/serial
cat > ca-db/ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = ext
[any]
commonName = supplied
[ext]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
CNF
openssl ca -batch -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
  -startdate 20200101000000Z -enddate 20200201000000Z -notext 2>/dev/null
rm -rf expired.csr ca-db
chmod 600 ./*.key
