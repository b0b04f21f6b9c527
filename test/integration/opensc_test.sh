#!/usr/bin/env bash
# OpenSC against the simulated card: OpenSC's own JPKI driver was written and tested against
# real My Number Cards, so everything it can do with the simulator here is evidence that the
# simulator behaves like the card (tokens, PIN rules, certificates, signatures, PIN counters).
#
# Runs inside the harness with one card (CTest does this):
#   test/harness/pcsc-harness.sh --cards 1 --pki build/test-pki --sim build/test/sim/jpki-sim \
#     -- test/integration/opensc_test.sh
# Prints one "ok: ..." line per check and "N passed, 0 failed" at the end; the first failing
# check prints what it saw and exits 1. The wrong-PIN checks run last: they lock the card's
# auth PIN for the rest of the harness run.
#
# Environment: OPENSC_PKCS11_MODULE overrides the module path.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh" # ok, fail, run, must, $tmp, ...

AUTH_LABEL="JPKI (User Authentication PIN)"
SIGN_LABEL="JPKI (Digital Signature PIN)"

find_module() {
  local m
  for m in "${OPENSC_PKCS11_MODULE:-}" /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so \
    $(dpkg -L opensc-pkcs11 2>/dev/null | grep '/opensc-pkcs11\.so$' || true) \
    /usr/lib/*/opensc-pkcs11.so /usr/lib/opensc-pkcs11.so /usr/local/lib/opensc-pkcs11.so; do
    [[ -n $m && -f $m ]] && { echo "$m"; return 0; }
  done
  return 1
}

# token_field FILE LABEL FIELD: FIELD ("token flags", "pin min/max", "reader", ...) of every
# slot whose token has LABEL, from `pkcs11-tool -L` output in FILE.
token_field() {
  awk -v want="$2" -v field="$3" '
    /^Slot / { label = ""; reader = $0; sub(/^Slot [^:]*: /, "", reader); next }
    match($0, /^  [^:]+: /) {
      key = substr($0, 3, RLENGTH - 4); sub(/ +$/, "", key)
      val = substr($0, RLENGTH + 1)
      if (key == "token label") {
        label = val
        if (label == want && field == "reader") print reader
        if (label == want && field == key) print val
      }
      else if (label == want && key == field) print val
    }' "$1"
}

# ---------------------------------------------------------------------------------------------
[[ -n ${JPKI_SIM_LOG_1:-} && -n ${JPKI_PKI_DIR:-} ]] ||
  { echo "opensc_test: run me inside test/harness/pcsc-harness.sh --cards 1" >&2; exit 2; }
need_tools pkcs11-tool openssl awk timeout
MODULE=$(find_module) ||
  { echo "opensc_test: OpenSC's PKCS#11 module not found (package opensc-pkcs11)" >&2; exit 77; }
CARD=$JPKI_PKI_DIR/card1
LOG=$JPKI_SIM_LOG_1
for f in auth_cert.der sign_cert.der; do
  [[ -f $CARD/$f ]] || { echo "opensc_test: $CARD/$f missing" >&2; exit 2; }
done
P11=(pkcs11-tool --module "$MODULE")

# Test data and the public keys the signatures must verify with.
printf 'jpki-pkcs11 OpenSC test %s\n' "$(date -u +%FT%TZ)" >"$tmp/data"
head -c 3000 /dev/urandom >>"$tmp/data"
openssl x509 -inform der -in "$CARD/auth_cert.der" -pubkey -noout >"$tmp/auth_pub.pem" ||
  fail "cannot extract the public key of $CARD/auth_cert.der"
openssl x509 -inform der -in "$CARD/sign_cert.der" -pubkey -noout >"$tmp/sign_pub.pem" ||
  fail "cannot extract the public key of $CARD/sign_cert.der"

# ---- 1. tokens -------------------------------------------------------------------------------
must list "pkcs11-tool -L failed" "${P11[@]}" -L
L=$tmp/list.out
for spec in "$AUTH_LABEL|4/4" "$SIGN_LABEL|6/16"; do
  label=${spec%|*} want_pin=${spec#*|}
  n=$(token_field "$L" "$label" "token label" | wc -l)
  ((n == 1)) || fail "-L: expected exactly one token labelled '$label', found $n" "$L"
  reader=$(token_field "$L" "$label" reader)
  [[ $reader == "${JPKI_SIM_READER_1:-$reader}" ]] ||
    fail "-L: token '$label' is in reader '$reader', not the card's '$JPKI_SIM_READER_1'" "$L"
  pin=$(token_field "$L" "$label" "pin min/max")
  [[ $pin == "$want_pin" ]] || fail "-L: token '$label' has pin min/max '$pin', expected $want_pin" "$L"
  flags=$(token_field "$L" "$label" "token flags")
  for f in "login required" "token initialized" "PIN initialized"; do
    has_flag "$flags" "$f" || fail "-L: token '$label' lacks flag '$f' (flags: $flags)" "$L"
  done
  for f in "user PIN count low" "final user PIN try" "user PIN locked"; do
    has_flag "$flags" "$f" && fail "-L: fresh token '$label' already has flag '$f'" "$L"
  done
  ok "-L shows token '$label' in '$reader', pin min/max $pin, flags: $flags"
done

# ---- 2. auth certificate (public) ------------------------------------------------------------
must auth_objs "-O on the auth token failed" "${P11[@]}" --token-label "$AUTH_LABEL" -O
grep -qx '  label:      User Authentication Certificate' "$tmp/auth_objs.out" ||
  fail "-O on the auth token does not list 'User Authentication Certificate'" "$tmp/auth_objs.out"
ok "-O on the auth token lists 'User Authentication Certificate' without login"

must auth_read "reading the auth certificate failed" \
  "${P11[@]}" --token-label "$AUTH_LABEL" --read-object --type cert --id 01 -o "$tmp/auth_cert.der"
cmp -s "$tmp/auth_cert.der" "$CARD/auth_cert.der" ||
  fail "certificate id 01 read through OpenSC ($(wc -c <"$tmp/auth_cert.der") bytes) differs from $CARD/auth_cert.der ($(wc -c <"$CARD/auth_cert.der") bytes)" "$tmp/auth_read.out"
ok "--read-object --type cert --id 01 equals card1/auth_cert.der ($(wc -c <"$CARD/auth_cert.der") bytes)"

# ---- 3. signature with the auth key ----------------------------------------------------------
must auth_sign "signing with the auth key failed" \
  "${P11[@]}" --token-label "$AUTH_LABEL" --login --pin "$AUTH_PIN" --sign --id 01 \
  -m SHA256-RSA-PKCS -i "$tmp/data" -o "$tmp/auth.sig"
run auth_verify openssl dgst -sha256 -verify "$tmp/auth_pub.pem" -signature "$tmp/auth.sig" "$tmp/data" ||
  fail "the auth key's SHA256-RSA-PKCS signature does not verify with auth_cert.der" \
    "$tmp/auth_sign.out" "$tmp/auth_verify.out"
ok "SHA256-RSA-PKCS signature by the auth key (id 01) verifies with auth_cert.der"

# ---- 4. signature key (private objects) ------------------------------------------------------
must sign_objs_pub "-O on the signature token failed" "${P11[@]}" --token-label "$SIGN_LABEL" -O
if grep -q -e '^Private Key Object' -e '^  label:      Digital Signature Certificate$' "$tmp/sign_objs_pub.out"; then
  fail "-O without login shows the signature key or certificate (they must be private)" "$tmp/sign_objs_pub.out"
fi
ok "without login the signature token hides its key and certificate"

must sign_objs "-O with login on the signature token failed" \
  "${P11[@]}" --token-label "$SIGN_LABEL" --login --pin "$SIGN_PIN" -O
sign_id=$(awk '/^[A-Z]/ { p = /^Private Key Object/ } p && /^  ID:/ { print $2; exit }' "$tmp/sign_objs.out")
[[ -n $sign_id ]] || fail "-O after login shows no private key on the signature token" "$tmp/sign_objs.out"
grep -qx '  label:      Digital Signature Certificate' "$tmp/sign_objs.out" ||
  fail "-O after login does not list 'Digital Signature Certificate'" "$tmp/sign_objs.out"
ok "after login the signature token shows its private key (id $sign_id) and certificate"

must sign_read "reading the signature certificate failed" \
  "${P11[@]}" --token-label "$SIGN_LABEL" --login --pin "$SIGN_PIN" \
  --read-object --type cert --id "$sign_id" -o "$tmp/sign_cert.der"
cmp -s "$tmp/sign_cert.der" "$CARD/sign_cert.der" ||
  fail "certificate id $sign_id read through OpenSC differs from $CARD/sign_cert.der" "$tmp/sign_read.out"
ok "--read-object --type cert --id $sign_id (after login) equals card1/sign_cert.der"

# The key is CKA_ALWAYS_AUTHENTICATE: pkcs11-tool 0.23 answers the context-specific login with
# --pin as well (stdin is /dev/null, so a prompt would fail instead of hanging).
must sign_sign "signing with the signature key failed" \
  "${P11[@]}" --token-label "$SIGN_LABEL" --login --pin "$SIGN_PIN" --sign --id "$sign_id" \
  -m SHA256-RSA-PKCS -i "$tmp/data" -o "$tmp/sign.sig"
run sign_verify openssl dgst -sha256 -verify "$tmp/sign_pub.pem" -signature "$tmp/sign.sig" "$tmp/data" ||
  fail "the signature key's SHA256-RSA-PKCS signature does not verify with sign_cert.der" \
    "$tmp/sign_sign.out" "$tmp/sign_verify.out"
ok "SHA256-RSA-PKCS signature by the signature key (id $sign_id) verifies with sign_cert.der"

# ---- 5. wrong auth PIN, three times (last: locks the auth PIN) -------------------------------
log_start=$(apdu_mark)
want_flag=("user PIN count low" "final user PIN try" "user PIN locked")
for i in 1 2 3; do
  if run wrong$i "${P11[@]}" --token-label "$AUTH_LABEL" --login --pin "$WRONG_PIN" -O; then
    fail "login with the wrong auth PIN (attempt $i) succeeded" "$tmp/wrong$i.out"
  fi
  # A real card may answer the last try with 6983 (CKR_PIN_LOCKED) instead of 63C0.
  grep -q -e 'CKR_PIN_INCORRECT' -e 'CKR_PIN_LOCKED' "$tmp/wrong$i.out" ||
    fail "wrong auth PIN (attempt $i) did not fail with CKR_PIN_INCORRECT" "$tmp/wrong$i.out"
  must list$i "pkcs11-tool -L after wrong PIN $i failed" "${P11[@]}" -L
  flags=$(token_field "$tmp/list$i.out" "$AUTH_LABEL" "token flags")
  has_flag "$flags" "${want_flag[i - 1]}" ||
    fail "after $i wrong auth PIN(s) the auth token lacks '${want_flag[i - 1]}' (flags: $flags)" "$tmp/list$i.out"
  for f in "${want_flag[@]}"; do
    [[ $f == "${want_flag[i - 1]}" ]] && continue
    has_flag "$flags" "$f" && fail "after $i wrong auth PIN(s) the auth token also has '$f'" "$tmp/list$i.out"
  done
  sflags=$(token_field "$tmp/list$i.out" "$SIGN_LABEL" "token flags")
  for f in "${want_flag[@]}"; do
    has_flag "$sflags" "$f" && fail "wrong auth PINs changed the signature token: '$f' (flags: $sflags)" "$tmp/list$i.out"
  done
  ok "after $i wrong auth PIN(s): $(grep -o 'CKR_PIN_[A-Z]*' "$tmp/wrong$i.out" | head -n1), -L flags have '${want_flag[i - 1]}'"
done

# ---- 6. the simulator's APDU log -------------------------------------------------------------
new_apdus phase "$log_start"
grep -E '^00 20 ' "$tmp/phase.apdu" | grep -v ' Lc=0 ' >"$tmp/phase_verify.log" || true
n_all=$(wc -l <"$tmp/phase_verify.log")
n_auth=$(grep -cE '^00 20 00 (80|98) Lc=4 ' "$tmp/phase_verify.log" || true)
sws=$(awk '{ for (k = 1; k < NF; k++) if ($k == "->") printf "%s%s", (n++ ? " " : ""), $(k + 1) }' "$tmp/phase_verify.log")
{ ((n_all == 3 && n_auth == 3)) && [[ $sws =~ ^63C2\ 63C1\ (63C0|6983)$ ]]; } ||
  fail "the wrong-PIN phase sent $n_all VERIFY with data ($n_auth to the auth PIN, answers: '$sws'); expected 3, answered 63C2 63C1 63C0" \
    "$tmp/phase_verify.log"
ok "APDU log: exactly 3 VERIFY with data (P2 80/98, Lc=4) in the wrong-PIN phase, answered $sws"

grep -q ' data=<redacted> ' "$LOG" || fail "the APDU log has no (redacted) VERIFY with data at all: wrong file?" "$LOG"
for spec in "auth PIN|$AUTH_PIN" "sign PIN|$SIGN_PIN"; do
  what=${spec%%|*} pin=${spec#*|} hex=$(hexs "${spec#*|}")
  check_absent "the APDU log contains the $what" "$LOG" "$pin" "$hex" "${hex// /}"
  ok "APDU log ($(wc -l <"$LOG") lines) never shows the $what ('$pin', '$hex', '${hex// /}')"
done
hex=$(hexs "$WRONG_PIN") # "0000" itself is ordinary in hex dumps: look for its bytes only
check_absent "the APDU log contains the wrong PIN" "$LOG" "$hex" "${hex// /}"
ok "APDU log never shows the wrong PIN's bytes ('$hex', '${hex// /}')"

finish
