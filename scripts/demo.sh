#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine (as root): install the dependencies,
# build, then put two simulated My Number Cards behind a private pcscd and use them through the
# module jpki-pkcs11.so and real clients: the readers (opensc-tool), the PKCS#11 tokens and
# objects (pkcs11-tool) and, for each card, signatures with both keys (PKCS#1 v1.5 and
# RSASSA-PSS made on the card) that openssl verifies against the certificates read back from
# the tokens. Exits non-zero if any step fails.
#
#   sudo ./scripts/demo.sh
#
# Environment: MODULE = the PKCS#11 module to show (default: ours, build/jpki-pkcs11.so).
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
BUILD=$REPO/build
CARDS=2
AUTH_PIN=1234                          # the simulated cards' auth PIN (test/pki)
SIGN_PIN=SIGN1234                      # and their signature password
AUTH_LABEL="JPKI Authentication"
SIGN_LABEL="JPKI Signature"
AUTH_KEY_ID=01
SIGN_KEY_ID=02

heading() { printf '\n==== %s\n' "$*"; }

# ---------------------------------------------------------------------------------------------
# Inside the harness (private pcscd with the simulated cards): the client steps.
if [[ ${1:-} == --inside-harness ]]; then
  MODULE=${MODULE:-$BUILD/jpki-pkcs11.so}
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/jpki-demo.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT

  heading "Readers and cards (opensc-tool -l)"
  opensc-tool -l

  heading "PKCS#11 slots and tokens (pkcs11-tool -L, module $MODULE)"
  pkcs11-tool --module "$MODULE" -L | tee "$tmp/slots"

  printf 'Signed by a simulated My Number Card, %s\n' "$(date -u +%FT%TZ)" >"$tmp/data"
  for ((i = 1; i <= JPKI_SIM_COUNT; i++)); do
    reader_var=JPKI_SIM_READER_$i
    reader=${!reader_var}
    # The slot (its ID, e.g. 0x4) in card i's reader whose token is the auth token.
    slot_of() {  # the slot ID (e.g. 0x4) of the token labelled $1 in card i's reader
      awk -v reader="$reader" -v want="$1" '
        /^Slot / { id = $3; gsub(/[():]/, "", id); r = $0; sub(/^Slot [^:]*: /, "", r) }
        /^  token label *: / { l = $0; sub(/^  token label *: /, "", l)
                               if (r == reader && l == want) { print id; exit } }' "$tmp/slots"
    }
    auth_slot=$(slot_of "$AUTH_LABEL")
    sign_slot=$(slot_of "$SIGN_LABEL")
    [[ -n $auth_slot && -n $sign_slot ]] || { echo "demo: no JPKI tokens in reader '$reader'" >&2; exit 1; }

    heading "Card $i ($reader): objects of the authentication token (no PIN needed)"
    pkcs11-tool --module "$MODULE" --slot "$auth_slot" -O </dev/null

    heading "Card $i: SHA256-RSA-PKCS and SHA256-RSA-PKCS-PSS with the auth key, verified by openssl"
    pkcs11-tool --module "$MODULE" --slot "$auth_slot" --read-object --type cert --id "$AUTH_KEY_ID" \
      -o "$tmp/auth$i.der" </dev/null
    openssl x509 -inform der -in "$tmp/auth$i.der" -noout -subject
    openssl x509 -inform der -in "$tmp/auth$i.der" -pubkey -noout >"$tmp/auth$i.pem"
    pkcs11-tool --module "$MODULE" --slot "$auth_slot" --login --pin "$AUTH_PIN" \
      --sign --id "$AUTH_KEY_ID" -m SHA256-RSA-PKCS -i "$tmp/data" -o "$tmp/sig$i" </dev/null
    openssl dgst -sha256 -verify "$tmp/auth$i.pem" -signature "$tmp/sig$i" "$tmp/data"
    pkcs11-tool --module "$MODULE" --slot "$auth_slot" --login --pin "$AUTH_PIN" \
      --sign --id "$AUTH_KEY_ID" -m SHA256-RSA-PKCS-PSS --mgf MGF1-SHA256 \
      --salt-len 32 -i "$tmp/data" -o "$tmp/pss$i" </dev/null
    openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
      -verify "$tmp/auth$i.pem" -signature "$tmp/pss$i" "$tmp/data"

    heading "Card $i: the signature token (its certificate needs the signature password)"
    pkcs11-tool --module "$MODULE" --slot "$sign_slot" --login --pin "$SIGN_PIN" \
      --read-object --type cert --id "$SIGN_KEY_ID" -o "$tmp/sign$i.der" </dev/null
    openssl x509 -inform der -in "$tmp/sign$i.der" -noout -subject
    openssl x509 -inform der -in "$tmp/sign$i.der" -pubkey -noout >"$tmp/sign$i.pem"
    pkcs11-tool --module "$MODULE" --slot "$sign_slot" --login --pin "$SIGN_PIN" \
      --sign --id "$SIGN_KEY_ID" -m SHA256-RSA-PKCS -i "$tmp/data" -o "$tmp/ssig$i" </dev/null
    openssl dgst -sha256 -verify "$tmp/sign$i.pem" -signature "$tmp/ssig$i" "$tmp/data"
  done
  heading "All steps passed"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
((EUID == 0)) || { echo "demo: run as root (installs packages; the pcscd harness needs namespaces)" >&2; exit 1; }
cd "$REPO"

heading "Installing dependencies (scripts/install-deps.sh)"
./scripts/install-deps.sh

heading "Building (cmake + ninja into build/)"
cmake -S . -B build -G Ninja
cmake --build build

heading "Starting a private pcscd with $CARDS simulated cards"
# Exit status 77 from the harness means "cannot run here" (e.g. namespaces refused): a failure
# for the demo, which has nothing else to show.
exec "$REPO/test/harness/pcsc-harness.sh" --cards "$CARDS" --pki "$BUILD/test-pki" \
  --sim "$BUILD/test/sim/jpki-sim" -- "$REPO/scripts/demo.sh" --inside-harness
