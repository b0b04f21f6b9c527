#!/usr/bin/env bash
# TLS client authentication with the card (issue 6): gnutls-cli loads this module directly
# (--provider) and authenticates to an `openssl s_server -Verify 1` with the auth certificate
# and key, in TLS 1.3 (RSA-PSS only: the card's PSS mode, P1=04) and TLS 1.2.
#
# MODE says which simulated card the harness started, and so what must happen:
#   pss     a card with a working PSS mode: TLS 1.3 and TLS 1.2 succeed with an on-card RSA-PSS
#           CertificateVerify (80 2A 04 97 -> 9000), TLS 1.2 restricted to PKCS#1 v1.5 too.
#   pssless a card without a PSS mode that says so before a PIN (--sim-arg --no-pss: 6A86 to the
#           module's PSS check): the module never offers PSS, so GnuTLS sends no certificate in
#           TLS 1.3 (which needs RSA-PSS) and the server refuses the handshake, with no PIN
#           sent; TLS 1.2 with GnuTLS' default priorities succeeds with PKCS#1 v1.5 (P1=00).
#   nopss   a card refusing PSS only after the PIN (--no-pss --security-before-p1: the check
#           learns nothing): TLS 1.3 fails on the client with "PKCS #11 error." (C_Sign ->
#           CKR_FUNCTION_FAILED); so does TLS 1.2 with GnuTLS' default priorities (GnuTLS
#           prefers RSA-PSS there as well, and each gnutls-cli is a fresh process for which the
#           module still offers PSS); TLS 1.2 without the RSA-PSS signature algorithms succeeds
#           with PKCS#1 v1.5 (P1=00).
#   salt20  a card whose PSS salt is 20 (--sim-arg --pss-salt --sim-arg 20): the module's
#           self-check refuses the signature, the client fails with "PKCS #11 error in device";
#           TLS 1.2 as for nopss.
# In no mode does the server ever see a client certificate without a valid signature.
#
# Runs inside the harness with one card (CTest does this), e.g.
#   test/harness/pcsc-harness.sh --cards 1 --pki build/test-pki --sim build/test/sim/jpki-sim \
#     --sim-arg --no-pss --sim-arg --security-before-p1 -- test/integration/tls_test.sh nopss
# Prints one "ok: ..." line per check and "N passed, 0 failed" at the end; the first failing
# check prints what it saw and exits 1.
#
# Environment: JPKI_MODULE is the module (default: build/jpki-pkcs11.so of this source tree).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh" # ok, fail, run, must, $tmp, ...
# shellcheck source-path=SCRIPTDIR source=tls_server.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/tls_server.sh" # server_pki, tls_server_start, ...

CERT_URL='pkcs11:token=JPKI%20Authentication;object=Authentication%20Certificate;type=cert'
KEY_URL='pkcs11:token=JPKI%20Authentication;object=Authentication%20Key;type=private'
NO_PSS_SIGS="-SIGN-RSA-PSS-RSAE-SHA256:-SIGN-RSA-PSS-RSAE-SHA384:-SIGN-RSA-PSS-RSAE-SHA512"
NO_PSS_SIGS+=":-SIGN-RSA-PSS-SHA256:-SIGN-RSA-PSS-SHA384:-SIGN-RSA-PSS-SHA512"

# client NAME PRIORITY: gnutls-cli with the card's auth certificate and key through the module,
# sends "GET / HTTP/1.0" and reads the answer until the server closes. Its stdin is a FIFO this
# script holds open, so gnutls-cli cannot quit at end of input before the page has arrived.
# Output in $tmp/NAME.log (first line: command; NAME.txt and NAME.out below), module trace in
# $tmp/NAME.trace. Returns gnutls-cli's status.
client() {
  local name=$1 prio=$2 rc=0 pid
  local cmd=(gnutls-cli -p "$PORT" 127.0.0.1 --provider "$MODULE" --x509certfile "$CERT_URL"
    --x509keyfile "$KEY_URL" --x509cafile "$tmp/ca.pem" --priority "$prio")
  { printf '$ GNUTLS_PIN=... JPKI_TRACE=%q' "$tmp/$name.trace"; printf ' %q' "${cmd[@]}"; printf '\n'; } >"$tmp/$name.log"
  rm -f "$tmp/stdin" && mkfifo "$tmp/stdin"
  GNUTLS_PIN=$AUTH_PIN JPKI_TRACE=$tmp/$name.trace \
    timeout "$CMD_TIMEOUT" "${cmd[@]}" <"$tmp/stdin" >>"$tmp/$name.log" 2>&1 &
  pid=$!
  exec 3<>"$tmp/stdin" # read-write: never blocks, and keeps a writer until the client ends
  printf 'GET / HTTP/1.0\r\n\r\n' >&3
  wait "$pid" || rc=$?
  exec 3>&-
  ((rc != 124)) || echo "(timed out after ${CMD_TIMEOUT}s)" >>"$tmp/$name.log"
  # NAME.txt: everything, without the CRs; NAME.out (shown on failure): the server's page
  # shortened to the lines the checks look at.
  tr -d '\r' <"$tmp/$name.log" >"$tmp/$name.txt"
  awk '!page { print; if ($0 == "- Simple Client Mode:") page = 1; next }
    /^(HTTP\/|Peer sig|Verify return|Client certificate|- |\*\*\*|\()/ ||
    /^ *(Protocol|Cipher|Subject|Verify return code) *:/ { print }' "$tmp/$name.txt" >"$tmp/$name.out"
  return "$rc"
}

# handshake_ok NAME VERSION SIGTYPE: the handshake completed with VERSION (TLS1.3, TLS1.2),
# gnutls-cli trusted the server and got s_server's status page, which shows that the server
# verified the card's certificate and a SIGTYPE signature (card_cert_ok); sets desc
# (gnutls-cli's "- Description:").
handshake_ok() {
  local name=$1 vers=$2 sigtype=$3 files=("$tmp/$1.out" "$tmp/$1.srv" "$tmp/$1.trace")
  grep -q '^- Handshake was completed' "$tmp/$name.txt" || fail "$name: handshake not completed" "${files[@]}"
  grep -q '^- Status: The certificate is trusted' "$tmp/$name.txt" ||
    fail "$name: gnutls-cli did not verify the server certificate" "${files[@]}"
  desc=$(sed -n 's/^- Description: //p' "$tmp/$name.txt")
  [[ $desc == "($vers-X.509)-"* ]] || fail "$name: negotiated '$desc', expected $vers" "${files[@]}"
  grep -q '^HTTP/1.0 200 ok' "$tmp/$name.txt" && grep -q '</HTML>' "$tmp/$name.txt" ||
    fail "$name: no complete status page from s_server" "${files[@]}"
  card_cert_ok "$name" "$tmp/$name.txt" "${vers/TLS/TLSv}" "$sigtype" "${files[@]}"
}

# one_sign NAME P1 SW: the only COMPUTE DIGITAL SIGNATURE(s) in $tmp/NAME.apdu have P1 and
# end in SW (the card-layer retry with SELECT + P2=80 after a 6A86 counts too).
one_sign() {
  local name=$1 p1=$2 sw=$3 lines
  sign_apdus "$name"
  lines=$(wc -l <"$tmp/$name.sign")
  ((lines >= 1)) || fail "$name: no COMPUTE DIGITAL SIGNATURE in the APDU log" "$tmp/$name.apdu"
  grep -vqE "^80 2A $p1 " "$tmp/$name.sign" && fail "$name: a signature APDU with P1 other than $p1" "$tmp/$name.sign"
  [[ $(tail -n 1 "$tmp/$name.sign") == *" -> $sw"* ]] ||
    fail "$name: the last signature APDU was not answered $sw" "$tmp/$name.sign"
  return 0
}

# refused NAME ERROR: the client failed with ERROR, no page, and the server accepted no client
# certificate (internal_error alert from the client instead).
refused() {
  local name=$1 err=$2 rc=$3 files=("$tmp/$1.out" "$tmp/$1.srv" "$tmp/$1.trace")
  ((rc != 0 && rc != 124)) || fail "$name: gnutls-cli exit status $rc, expected a failure" "${files[@]}"
  grep -qxF "*** Fatal error: $err" "$tmp/$name.txt" || fail "$name: no '*** Fatal error: $err'" "${files[@]}"
  if grep -q -e '^- Handshake was completed' -e '^HTTP/' "$tmp/$name.txt"; then
    fail "$name: the handshake completed anyway" "${files[@]}"
  fi
  if grep -q -e '^depth=0' -e 'Client certificate' "$tmp/$name.srv"; then
    fail "$name: s_server saw a client certificate" "${files[@]}"
  fi
  grep -q 'alert internal error' "$tmp/$name.srv" ||
    fail "$name: s_server did not get an internal_error alert" "${files[@]}"
}

# ---------------------------------------------------------------------------------------------
MODE=${1:-}
[[ $MODE == pss || $MODE == pssless || $MODE == nopss || $MODE == salt20 ]] ||
  { echo "usage: tls_test.sh pss|pssless|nopss|salt20 (inside test/harness/pcsc-harness.sh)" >&2; exit 2; }
[[ -n ${JPKI_SIM_LOG_1:-} && -n ${JPKI_PKI_DIR:-} ]] ||
  { echo "tls_test: run me inside test/harness/pcsc-harness.sh --cards 1" >&2; exit 2; }
need_tools gnutls-cli openssl mkfifo timeout stdbuf
jpki_module
CARD=$JPKI_PKI_DIR/card1
LOG=$JPKI_SIM_LOG_1
for f in auth_cert.der auth_ca.der; do
  [[ -f $CARD/$f ]] || { echo "tls_test: $CARD/$f missing" >&2; exit 2; }
done

# ---- 0. a throwaway server PKI, the card's CA and subject ------------------------------------
server_pki "jpki-pkcs11 TLS test CA"
ok "server CA and certificate for CN=localhost, IP:127.0.0.1; the card's auth certificate is '$SUBJECT'"

# tls NAME S_SERVER_VERSION PRIORITY: one connection; sets rc (gnutls-cli's status).
tls() {
  local name=$1 sver=$2 prio=$3 from
  from=$(apdu_mark)
  tls_server_start "$name" -naccept 1 "$sver"
  rc=0
  client "$name" "$prio" || rc=$?
  tls_server_stop "$name"
  new_apdus "$name" "$from"
}

# ---- 1. TLS 1.3 (CertificateVerify must be RSA-PSS) ------------------------------------------
tls tls13 -tls1_3 "NORMAL:-VERS-ALL:+VERS-TLS1.3"
case $MODE in
pss)
  ((rc == 0)) || fail "TLS 1.3: gnutls-cli failed (exit status $rc)" "$tmp/tls13.out" "$tmp/tls13.srv" "$tmp/tls13.trace"
  handshake_ok tls13 TLS1.3 RSA-PSS
  one_sign tls13 04 9000
  grep -qx '80 2A 04 97 Lc=32 -> 9000 len=256' "$tmp/tls13.sign" ||
    fail "TLS 1.3: no '80 2A 04 97 Lc=32 -> 9000 len=256' in the APDU log" "$tmp/tls13.apdu"
  ok "TLS 1.3, gnutls-cli: $desc; s_server verified the client certificate CN=$CN (= card1/auth_cert.der), peer signature RSA-PSS/SHA256; card: $(paste -sd';' "$tmp/tls13.sign")"
  ;;
pssless)
  ((rc != 0 && rc != 124)) || fail "TLS 1.3: gnutls-cli exit status $rc, expected a failure" "$tmp/tls13.out" "$tmp/tls13.srv"
  grep -qx -- '- No certificate was sent to peer' "$tmp/tls13.txt" ||
    fail "TLS 1.3: gnutls-cli sent a certificate the card cannot sign for" "$tmp/tls13.out" "$tmp/tls13.trace"
  grep -q 'PSS is not offered for this card' "$tmp/tls13.trace" ||
    fail "TLS 1.3: the trace lacks the PSS check's result" "$tmp/tls13.trace"
  grep -qE '^80 2A 04 80 Lc=32 -> 6A86 ' "$tmp/tls13.apdu" || fail "TLS 1.3: no PSS check (80 2A 04 80 -> 6A86)" "$tmp/tls13.apdu"
  sign_apdus tls13
  [[ -s $tmp/tls13.sign ]] && fail "TLS 1.3: a signature was asked of the card" "$tmp/tls13.sign"
  ok "TLS 1.3 on a card without PSS: the module's PSS check (80 2A 04 80 -> 6A86, no PIN) withdrew PSS, so gnutls-cli sent no certificate ('- No certificate was sent to peer') and no signature was asked of the card (GnuTLS still logs in to find the key); the server refused the handshake"
  ;;
nopss)
  refused tls13 "PKCS #11 error." "$rc"
  one_sign tls13 04 6A86
  grep -q 'card refused its PSS mode (P1=04)' "$tmp/tls13.trace" && grep -q 'C_Sign -> CKR_FUNCTION_FAILED' "$tmp/tls13.trace" ||
    fail "TLS 1.3: the trace lacks the PSS refusal / CKR_FUNCTION_FAILED" "$tmp/tls13.trace"
  ok "TLS 1.3 on a card refusing PSS after the PIN: gnutls-cli fails with '*** Fatal error: PKCS #11 error.' (C_Sign -> CKR_FUNCTION_FAILED, card: $(paste -sd';' "$tmp/tls13.sign")); s_server got alert internal_error and no client certificate"
  ;;
salt20)
  refused tls13 "PKCS #11 error in device" "$rc"
  one_sign tls13 04 9000
  grep -q 'PSS self-check failed' "$tmp/tls13.trace" && grep -q 'C_Sign -> CKR_DEVICE_ERROR' "$tmp/tls13.trace" ||
    fail "TLS 1.3: the trace lacks 'PSS self-check failed' / CKR_DEVICE_ERROR" "$tmp/tls13.trace"
  ok "TLS 1.3 on a card with PSS salt 20: the card signed ($(paste -sd';' "$tmp/tls13.sign")) but the module's trace says 'PSS self-check failed' (C_Sign -> CKR_DEVICE_ERROR); gnutls-cli fails with '*** Fatal error: PKCS #11 error in device'; s_server got alert internal_error and no client certificate"
  ;;
esac

# ---- 2. TLS 1.2 with GnuTLS' default signature algorithms (it prefers RSA-PSS) ---------------
tls tls12 -tls1_2 "NORMAL:-VERS-ALL:+VERS-TLS1.2"
case $MODE in
pss)
  ((rc == 0)) || fail "TLS 1.2: gnutls-cli failed (exit status $rc)" "$tmp/tls12.out" "$tmp/tls12.srv" "$tmp/tls12.trace"
  handshake_ok tls12 TLS1.2 RSA-PSS
  one_sign tls12 04 9000
  ok "TLS 1.2, gnutls-cli: $desc; s_server verified the client certificate CN=$CN, peer signature RSA-PSS/SHA256; card: $(paste -sd';' "$tmp/tls12.sign")"
  ;;
pssless)
  ((rc == 0)) || fail "TLS 1.2: gnutls-cli failed (exit status $rc)" "$tmp/tls12.out" "$tmp/tls12.srv" "$tmp/tls12.trace"
  handshake_ok tls12 TLS1.2 RSA
  one_sign tls12 00 9000
  ok "TLS 1.2 with GnuTLS' default priorities on a card without PSS: $desc; GnuTLS saw no RSA-PSS mechanism and signed PKCS#1 v1.5; card: $(paste -sd';' "$tmp/tls12.sign")"
  ;;
nopss)
  # Each gnutls-cli process loads the module afresh: it offers CKM_RSA_PKCS_PSS until the
  # card refuses it, and GnuTLS picks RSA-PSS for TLS 1.2 as well, without a fallback.
  refused tls12 "PKCS #11 error." "$rc"
  one_sign tls12 04 6A86
  ok "TLS 1.2 with default priorities on a card refusing PSS after the PIN: GnuTLS still picks RSA-PSS and fails the same way ('*** Fatal error: PKCS #11 error.'); no client certificate accepted"
  ;;
salt20)
  refused tls12 "PKCS #11 error in device" "$rc"
  one_sign tls12 04 9000
  grep -q 'PSS self-check failed' "$tmp/tls12.trace" || fail "TLS 1.2: the trace lacks 'PSS self-check failed'" "$tmp/tls12.trace"
  ok "TLS 1.2 with default priorities on a card with PSS salt 20: GnuTLS picks RSA-PSS, 'PSS self-check failed', '*** Fatal error: PKCS #11 error in device'; no client certificate accepted"
  ;;
esac

# ---- 3. TLS 1.2 without the RSA-PSS signature algorithms: PKCS#1 v1.5 (P1=00) ----------------
tls tls12p1 -tls1_2 "NORMAL:-VERS-ALL:+VERS-TLS1.2:$NO_PSS_SIGS"
((rc == 0)) || fail "TLS 1.2 (no RSA-PSS): gnutls-cli failed (exit status $rc)" "$tmp/tls12p1.out" "$tmp/tls12p1.srv" "$tmp/tls12p1.trace"
handshake_ok tls12p1 TLS1.2 RSA
one_sign tls12p1 00 9000
grep -qx '80 2A 00 97 Lc=51 -> 9000 len=256' "$tmp/tls12p1.sign" ||
  fail "TLS 1.2 (no RSA-PSS): no '80 2A 00 97 Lc=51 -> 9000 len=256' (SHA-256 DigestInfo)" "$tmp/tls12p1.apdu"
ok "TLS 1.2 with -SIGN-RSA-PSS-*, gnutls-cli: $desc; s_server verified the client certificate CN=$CN, peer signature RSA (PKCS#1 v1.5)/SHA256; card: $(paste -sd';' "$tmp/tls12p1.sign")"

# ---- 4. control: a server that does not trust the card's CA refuses the certificate ---------
if [[ $MODE == pss ]]; then
  CLIENT_CA=$tmp/ca.pem
  tls wrongca -tls1_3 "NORMAL:-VERS-ALL:+VERS-TLS1.3"
  CLIENT_CA=$tmp/auth_ca.pem
  ((rc != 0 && rc != 124)) || fail "wrong CA: gnutls-cli exit status $rc, expected a failure" "$tmp/wrongca.out" "$tmp/wrongca.srv"
  grep -q '^\*\*\* Fatal error' "$tmp/wrongca.txt" && ! grep -q '^HTTP/' "$tmp/wrongca.txt" ||
    fail "wrong CA: gnutls-cli did not fail the handshake" "$tmp/wrongca.out" "$tmp/wrongca.srv"
  grep -q 'verify error' "$tmp/wrongca.srv" || fail "wrong CA: s_server reports no verify error" "$tmp/wrongca.srv"
  ok "control: s_server -CAfile <not the card's CA> rejects the card's certificate ($(grep -m1 'verify error' "$tmp/wrongca.srv")); gnutls-cli: $(grep -m1 '^\*\*\* Fatal error' "$tmp/wrongca.txt")"
fi

finish
