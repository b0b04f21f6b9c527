#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine (as root): install the dependencies,
# build, then put two simulated My Number Cards behind a private pcscd and show them through
# real clients: the readers (opensc-tool), the PKCS#11 tokens (pkcs11-tool) and, for each card,
# a signature with its user authentication key that openssl verifies against the card's
# certificate. Exits non-zero if any step fails.
#
#   sudo ./scripts/demo.sh
#
# Environment: MODULE = the PKCS#11 module to show (default: OpenSC's; will become ours).
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
BUILD=$REPO/build
CARDS=2
AUTH_PIN=1234                          # the simulated cards' auth PIN (test/pki)
AUTH_LABEL="JPKI (User Authentication PIN)"

# The PKCS#11 module the demo shows. OpenSC's for now; to switch to ours, make the default
# "$BUILD/pkcs11/jpki-pkcs11.so" (and AUTH_LABEL / AUTH_KEY_ID if ours name them differently).
opensc_module() {
  local m
  for m in /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so \
    $(dpkg -L opensc-pkcs11 2>/dev/null | grep '/opensc-pkcs11\.so$' || true) \
    /usr/lib/*/opensc-pkcs11.so; do
    [[ -f $m ]] && { echo "$m"; return 0; }
  done
  echo "demo: OpenSC's PKCS#11 module not found (package opensc-pkcs11)" >&2
  return 1
}
AUTH_KEY_ID=01

heading() { printf '\n==== %s\n' "$*"; }

# ---------------------------------------------------------------------------------------------
# Inside the harness (private pcscd with the simulated cards): the client steps.
if [[ ${1:-} == --inside-harness ]]; then
  MODULE=${MODULE:-$(opensc_module)}
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
    cert=$JPKI_PKI_DIR/card$i/auth_cert.der
    # The slot (its ID, e.g. 0x4) in card i's reader whose token is the auth token.
    slot=$(awk -v reader="$reader" -v want="$AUTH_LABEL" '
      /^Slot / { id = $3; gsub(/[():]/, "", id); r = $0; sub(/^Slot [^:]*: /, "", r) }
      /^  token label *: / { l = $0; sub(/^  token label *: /, "", l)
                             if (r == reader && l == want) { print id; exit } }' "$tmp/slots")
    [[ -n $slot ]] || { echo "demo: no '$AUTH_LABEL' token in reader '$reader'" >&2; exit 1; }

    heading "Card $i ($reader): sign with the auth key (slot $slot, id $AUTH_KEY_ID), verify with openssl"
    openssl x509 -inform der -in "$cert" -noout -subject
    pkcs11-tool --module "$MODULE" --slot "$slot" --login --pin "$AUTH_PIN" \
      --sign --id "$AUTH_KEY_ID" -m SHA256-RSA-PKCS -i "$tmp/data" -o "$tmp/sig$i" </dev/null
    openssl x509 -inform der -in "$cert" -pubkey -noout >"$tmp/pub$i.pem"
    openssl dgst -sha256 -verify "$tmp/pub$i.pem" -signature "$tmp/sig$i" "$tmp/data"
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
