#!/usr/bin/env bash
# Creates a throw-away SoftHSM2 token for Vessel's PKCS#11 tests.
#
# Usage: SOFTHSM2_CONF=/tmp/some-dir/softhsm2.conf scripts/softhsm_setup.sh
#
# Writes $SOFTHSM2_CONF (token directory: <dir of conf>/tokens), initialises a
# token labelled "vessel" (user PIN 1234, SO PIN 12345678) with two EC key pairs
# generated on the token, and exports their public keys as PEM next to the conf:
#   label "signing-p256" (id 01, prime256v1) -> <dir>/signing-p256.pub.pem
#   label "signing-p384" (id 02, secp384r1)  -> <dir>/signing-p384.pub.pem
# Needs Debian packages softhsm2 and opensc (pkcs11-tool), openssl and python3.
# SOFTHSM_MODULE overrides the module path (default /usr/lib/softhsm/libsofthsm2.so).
set -euo pipefail

: "${SOFTHSM2_CONF:?set SOFTHSM2_CONF to the softhsm2.conf path to create}"
MODULE="${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"
DIR="$(dirname "$SOFTHSM2_CONF")"
HERE="$(cd "$(dirname "$0")" && pwd)"
PIN=1234
SO_PIN=12345678

for tool in softhsm2-util pkcs11-tool openssl python3; do
  command -v "$tool" >/dev/null || { echo "softhsm_setup: $tool not found (apt-get install -y --no-install-recommends softhsm2 opensc)" >&2; exit 1; }
done
[ -f "$MODULE" ] || { echo "softhsm_setup: module $MODULE not found" >&2; exit 1; }

mkdir -p "$DIR/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$DIR" > "$SOFTHSM2_CONF"
export SOFTHSM2_CONF

softhsm2-util --init-token --free --label vessel --pin "$PIN" --so-pin "$SO_PIN" >/dev/null

gen() { # label id curve
  pkcs11-tool --module "$MODULE" --token-label vessel --login --pin "$PIN" \
    --keypairgen --key-type "EC:$3" --id "$2" --label "$1" >/dev/null
  # pkcs11-tool 0.23 cannot export P-384 public keys, so build the PEM from CKA_EC_POINT.
  pkcs11-tool --module "$MODULE" --token-label vessel --list-objects --type pubkey 2>/dev/null \
    | python3 "$HERE/pkcs11_pubkey_pem.py" "$1" > "$DIR/$1.pub.pem"
  openssl pkey -pubin -in "$DIR/$1.pub.pem" -noout  # fail early on a bad PEM
}
gen signing-p256 01 prime256v1
gen signing-p384 02 secp384r1
echo "softhsm_setup: token 'vessel' ready in $DIR (PIN $PIN)"
