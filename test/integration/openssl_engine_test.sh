#!/usr/bin/env bash
# OpenSSL 3.0 with libp11's PKCS#11 engine (libengine-pkcs11-openssl) loading this module:
# signatures with `openssl dgst` / `openssl pkeyutl` (-engine pkcs11 -keyform engine and a
# pkcs11: URI), verified with the card's certificate, and TLS client authentication with
# `openssl s_client -engine pkcs11 -keyform engine -key pkcs11:...` against an
# `openssl s_server -Verify 1` that trusts only the card's auth CA, in TLS 1.2 and TLS 1.3.
# The engine gets the module from an OpenSSL config file in $tmp (OPENSSL_CONF, only for the
# engine commands), the PIN from -passin/-pass or from that file's PIN setting.
#
# MODE says which simulated card the harness started, and so what must happen:
#   pss     a card with a working PSS mode: everything works; RSA-PSS (pkeyutl, TLS 1.3, TLS 1.2
#           with OpenSSL's default signature algorithms) is made on the card (80 2A 04 97).
#   nopss   a card refusing PSS after the PIN (--no-pss --security-before-p1: 6A86): PKCS#1 v1.5 signatures work; PSS
#           fails with libp11's "Mechanism invalid" (C_Sign -> CKR_FUNCTION_FAILED), and so do
#           TLS 1.3 and TLS 1.2 with the default signature algorithms (OpenSSL prefers RSA-PSS,
#           libp11 has no fallback); TLS 1.2 with -client_sigalgs RSA+SHA256:RSA+SHA384:RSA+SHA512
#           works (PKCS#1 v1.5, P1=00).
# In no mode does the server finish a handshake without a valid signature.
#
# Runs inside the harness with one card (CTest does this), e.g.
#   test/harness/pcsc-harness.sh --cards 1 --pki build/test-pki --sim build/test/sim/jpki-sim \
#     --sim-arg --no-pss --sim-arg --security-before-p1 -- test/integration/openssl_engine_test.sh nopss
# Prints one "ok: ..." line per check and "N passed, 0 failed" at the end; the first failing
# check prints what it saw and exits 1. The wrong-PIN check (last) costs one auth PIN try, the
# right PIN after it resets the counter.
#
# Environment: JPKI_MODULE is the module (default: build/jpki-pkcs11.so of this source tree);
# PKCS11_ENGINE is libp11's engine (default: the Debian/Ubuntu path below).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh" # ok, fail, run, must, $tmp, ...
# shellcheck source-path=SCRIPTDIR source=tls_server.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/tls_server.sh" # server_pki, tls_server_start, ...

KEY_URL='pkcs11:token=JPKI%20Authentication;object=Authentication%20Key;type=private'
NO_PSS_SIGALGS=RSA+SHA256:RSA+SHA384:RSA+SHA512
ENGINE=${PKCS11_ENGINE:-/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so}
# A failed key load makes OpenSSL's exit handler call the module after its static destructors
# (libp11 finishes the engine late): such commands must still exit 1, not crash.

# ---------------------------------------------------------------------------------------------
MODE=${1:-}
[[ $MODE == pss || $MODE == nopss ]] ||
  { echo "usage: openssl_engine_test.sh pss|nopss (inside test/harness/pcsc-harness.sh)" >&2; exit 2; }
[[ -n ${JPKI_SIM_LOG_1:-} && -n ${JPKI_PKI_DIR:-} ]] ||
  { echo "openssl_engine_test: run me inside test/harness/pcsc-harness.sh --cards 1" >&2; exit 2; }
need_tools openssl timeout stdbuf
[[ -f $ENGINE ]] ||
  { echo "openssl_engine_test: libp11's engine $ENGINE missing (libengine-pkcs11-openssl)" >&2; exit 77; }
jpki_module
MODULE=$(readlink -f "$MODULE") # the config file is read from elsewhere
CARD=$JPKI_PKI_DIR/card1
LOG=$JPKI_SIM_LOG_1
for f in auth_cert.der auth_ca.der; do
  [[ -f $CARD/$f ]] || { echo "openssl_engine_test: $CARD/$f missing" >&2; exit 2; }
done

# eng NAME CMD...: `run` with OPENSSL_CONF=$tmp/engine.cnf (libp11's engine, this module) and
# the module's trace in $tmp/NAME.trace; the new APDUs in $tmp/NAME.apdu. Sets rc.
# ENGINE_CONF overrides the config file.
eng() { run_conf "$1" "${ENGINE_CONF:-$tmp/engine.cnf}" "${@:2}"; }

# verifies_ok NAME: every VERIFY with data (a PIN) in $tmp/NAME.apdu was answered 9000 (there
# are two per process: C_Login and the signature's own card transaction).
verifies_ok() {
  auth_pin_verifies "$1"
  [[ -s $tmp/$1.verify ]] && ! grep -vq ' -> 9000 ' "$tmp/$1.verify" ||
    fail "$1: expected VERIFY of the auth PIN, every one answered 9000" "$tmp/$1.apdu"
}

# only_sign NAME LINE: the only signature APDU in $tmp/NAME.apdu is exactly LINE.
only_sign() {
  sign_apdus "$1"
  [[ $(cat "$tmp/$1.sign") == "$2" ]] || fail "$1: expected exactly one signature APDU '$2'" "$tmp/$1.apdu"
}

# failed_status NAME WHAT: an openssl command that must fail exited 1 (not a crash).
failed_status() {
  ((rc == 1)) || fail "$1: $2: exit status $rc, expected 1" "$tmp/$1.out" "$tmp/$1.apdu"
}

# ---- 0. PKI, engine configuration ------------------------------------------------------------
server_pki "jpki-pkcs11 OpenSSL engine test CA"
must auth_cert "converting card1/auth_cert.der failed" \
  openssl x509 -inform der -in "$CARD/auth_cert.der" -out "$tmp/auth_cert.pem"
must auth_pub "extracting the card's public key failed" \
  openssl x509 -in "$tmp/auth_cert.pem" -noout -pubkey -out "$tmp/auth_pub.pem"

# The engine section: the engine is loaded by -engine pkcs11 (init = 0: not at config time).
cat >"$tmp/engine.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $MODULE
init = 0
EOF
{ cat "$tmp/engine.cnf"; echo "PIN = $AUTH_PIN"; } >"$tmp/engine_pin.cnf"
eng engine openssl engine -t -c pkcs11
((rc == 0)) && grep -q '^(pkcs11) ' "$tmp/engine.out" && grep -qF '[ available ]' "$tmp/engine.out" ||
  fail "openssl engine -t pkcs11 with the config file: engine not available" "$tmp/engine.out"
libp11=$(dpkg-query -W -f '${Version}' libengine-pkcs11-openssl 2>/dev/null || echo '?')
ok "server PKI; libp11's engine $libp11 ($ENGINE) with MODULE_PATH = this module: '[ available ]'; the card's auth certificate is '$SUBJECT'"

printf 'JPKI OpenSSL engine test data\n' >"$tmp/data"
must digest "openssl dgst -sha256 -binary failed" openssl dgst -sha256 -binary -out "$tmp/data.sha256" "$tmp/data"
must digest512 "openssl dgst -sha512 -binary failed" openssl dgst -sha512 -binary -out "$tmp/data.sha512" "$tmp/data"

# ---- 1. openssl dgst -sign with -passin ------------------------------------------------------
eng dgst openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "$KEY_URL" -passin "pass:$AUTH_PIN" \
  -out "$tmp/dgst.sig" "$tmp/data"
((rc == 0)) || fail "openssl dgst -sha256 -sign through the engine failed (exit status $rc)" "$tmp/dgst.out" "$tmp/dgst.apdu"
run dgst_verify openssl dgst -sha256 -verify "$tmp/auth_pub.pem" -signature "$tmp/dgst.sig" "$tmp/data" &&
  grep -qx 'Verified OK' "$tmp/dgst_verify.out" ||
  fail "the engine's SHA-256 signature does not verify with card1/auth_cert.der's key" "$tmp/dgst_verify.out"
verifies_ok dgst
only_sign dgst '80 2A 00 97 Lc=51 -> 9000 len=256'
ok "openssl dgst -sha256 -engine pkcs11 -keyform engine -sign '$KEY_URL' -passin pass:...: 'Verified OK' with the certificate's key; card: '$(cat "$tmp/dgst.sign")' (SHA-256 DigestInfo)"

# ---- 2. openssl pkeyutl -sign, PKCS#1 v1.5, the PIN from the config file ----------------------
ENGINE_CONF=$tmp/engine_pin.cnf eng pkeyutl openssl pkeyutl -sign -engine pkcs11 -keyform engine \
  -inkey "$KEY_URL" -pkeyopt digest:sha512 -in "$tmp/data.sha512" -out "$tmp/pkeyutl.sig"
((rc == 0)) || fail "openssl pkeyutl -sign (PKCS#1 v1.5, SHA-512) through the engine failed (exit status $rc)" "$tmp/pkeyutl.out" "$tmp/pkeyutl.apdu"
run pkeyutl_verify openssl pkeyutl -verify -pubin -inkey "$tmp/auth_pub.pem" -pkeyopt digest:sha512 \
  -in "$tmp/data.sha512" -sigfile "$tmp/pkeyutl.sig" &&
  grep -qx 'Signature Verified Successfully' "$tmp/pkeyutl_verify.out" ||
  fail "the engine's pkeyutl signature does not verify" "$tmp/pkeyutl_verify.out"
verifies_ok pkeyutl
only_sign pkeyutl '80 2A 00 97 Lc=83 -> 9000 len=256'
ok "openssl pkeyutl -sign -pkeyopt digest:sha512 with 'PIN = ...' in the engine section (no -passin): verifies; card: '$(cat "$tmp/pkeyutl.sign")' (SHA-512 DigestInfo)"

# ---- 3. openssl pkeyutl -sign, RSA-PSS -------------------------------------------------------
PSS_OPTS=(-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 -pkeyopt digest:sha256 -pkeyopt rsa_mgf1_md:sha256)
eng pss openssl pkeyutl -sign -engine pkcs11 -keyform engine -inkey "$KEY_URL" -passin "pass:$AUTH_PIN" \
  "${PSS_OPTS[@]}" -in "$tmp/data.sha256" -out "$tmp/pss.sig"
sign_apdus pss
case $MODE in
pss)
  ((rc == 0)) || fail "openssl pkeyutl -sign (RSA-PSS) through the engine failed (exit status $rc)" "$tmp/pss.out" "$tmp/pss.apdu"
  run pss_verify openssl pkeyutl -verify -pubin -inkey "$tmp/auth_pub.pem" "${PSS_OPTS[@]}" \
    -in "$tmp/data.sha256" -sigfile "$tmp/pss.sig" &&
    grep -qx 'Signature Verified Successfully' "$tmp/pss_verify.out" ||
    fail "the engine's RSA-PSS signature does not verify" "$tmp/pss_verify.out"
  verifies_ok pss
  only_sign pss '80 2A 04 97 Lc=32 -> 9000 len=256'
  ok "openssl pkeyutl -sign RSA-PSS (SHA-256, MGF1-SHA256, salt 32): verifies; card: '$(cat "$tmp/pss.sign")' (the card's PSS mode)"
  ;;
nopss)
  failed_status pss "RSA-PSS on a card refusing PSS"
  grep -q 'Mechanism invalid' "$tmp/pss.out" || fail "pss: no libp11 'Mechanism invalid' error" "$tmp/pss.out"
  grep -q 'C_Sign -> CKR_FUNCTION_FAILED' "$tmp/pss.trace" || fail "pss: the trace lacks 'C_Sign -> CKR_FUNCTION_FAILED'" "$tmp/pss.trace"
  [[ -s $tmp/pss.sign ]] && ! grep -vqE '^80 2A 04 [0-9A-F]{2} Lc=32 -> 6A86 ' "$tmp/pss.sign" ||
    fail "pss: expected only PSS-mode signature APDUs (80 2A 04) answered 6A86" "$tmp/pss.apdu"
  ok "openssl pkeyutl -sign RSA-PSS on a card refusing PSS fails: '$(grep -m1 -o 'error:[^:]*:PKCS#11 module:[^:]*:Mechanism invalid' "$tmp/pss.out")' (C_Sign -> CKR_FUNCTION_FAILED); card: $(paste -sd';' "$tmp/pss.sign")"
  ;;
esac

# ---- 4. no PIN at all: fails without a PIN try -----------------------------------------------
eng nopin openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "$KEY_URL" -out "$tmp/nopin.sig" "$tmp/data"
failed_status nopin "signing without a PIN (stdin /dev/null)"
grep -q 'No PIN code was entered' "$tmp/nopin.out" || fail "nopin: libp11 does not say 'No PIN code was entered'" "$tmp/nopin.out"
grep -qE '^00 20 00 [0-9A-F]{2} Lc=[1-9]' "$tmp/nopin.apdu" && fail "nopin: a VERIFY with data was sent" "$tmp/nopin.apdu"
signatures "$tmp/nopin.apdu" | grep -q . && fail "nopin: the card signed" "$tmp/nopin.apdu"
ok "no -passin and no PIN in the config (stdin /dev/null): libp11 prompts, reads nothing, 'No PIN code was entered'; no VERIFY with data, no signature"

# ---- 5. TLS client authentication with s_client ----------------------------------------------
# tls NAME S_SERVER_VERSION S_CLIENT_ARGS...: s_client_tls with the card's key through the engine.
tls() {
  local name=$1 sver=$2
  shift 2
  s_client_tls "$name" "$tmp/engine.cnf" "$sver" -engine pkcs11 -keyform engine -key "$KEY_URL" \
    -pass "pass:$AUTH_PIN" "$@"
}
handshake_ok() { s_client_handshake_ok "$@"; }

# refused NAME: s_client failed in its CertificateVerify with libp11's "Mechanism invalid" (after
# the module's C_Sign -> CKR_FUNCTION_FAILED on the card's 6A86), and the server finished no
# handshake (internal_error alert from the client instead).
refused() {
  local name=$1 files=("$tmp/$1.txt" "$tmp/$1.srv" "$tmp/$1.apdu")
  ((rc != 0 && rc != 124)) || fail "$name: s_client exit status $rc, expected a failure" "${files[@]}"
  grep -q 'PKCS#11 module:ERR_CKR_error:Mechanism invalid' "$tmp/$name.txt" ||
    fail "$name: no libp11 'Mechanism invalid' error" "${files[@]}"
  grep -q 'tls_construct_cert_verify' "$tmp/$name.txt" || fail "$name: the failure is not in tls_construct_cert_verify" "${files[@]}"
  grep -q 'C_Sign -> CKR_FUNCTION_FAILED' "$tmp/$name.trace" || fail "$name: the trace lacks 'C_Sign -> CKR_FUNCTION_FAILED'" "$tmp/$name.trace"
  [[ -s $tmp/$name.page ]] && fail "$name: the client got the server's page anyway" "${files[@]}"
  # The client's Certificate precedes its CertificateVerify, so s_server has checked the chain
  # (depth=0 ... verify return:1): what must not happen is a finished handshake.
  grep -qE '^ +0 server accepts that finished$' "$tmp/$name.srv" ||
    fail "$name: s_server does not report '0 server accepts that finished'" "${files[@]}"
  grep -q 'alert internal error' "$tmp/$name.srv" || fail "$name: s_server did not get an internal_error alert" "${files[@]}"
  sign_apdus "$name"
  [[ -s $tmp/$name.sign ]] && ! grep -vqE '^80 2A 04 [0-9A-F]{2} Lc=32 -> 6A86 ' "$tmp/$name.sign" ||
    fail "$name: expected only PSS-mode signature APDUs answered 6A86" "$tmp/$name.apdu"
}

# 5a. TLS 1.2, OpenSSL's default signature algorithms (RSA-PSS first)
tls tls12 -tls1_2 -tls1_2
case $MODE in
pss)
  handshake_ok tls12 TLSv1.2 RSA-PSS
  verifies_ok tls12
  only_sign tls12 '80 2A 04 97 Lc=32 -> 9000 len=256'
  ok "TLS 1.2, s_client -engine pkcs11 -keyform engine -key <URL> -pass pass:... -cert auth_cert.pem: s_server verified the client certificate ('Verify return code: 0 (ok)', Subject: ${SUBJECT// = /=}), peer signature RSA-PSS/SHA256; card: '$(cat "$tmp/tls12.sign")'"
  ;;
nopss)
  refused tls12
  ok "TLS 1.2 with default signature algorithms on a card refusing PSS: OpenSSL picks RSA-PSS, s_client fails in tls_construct_cert_verify with libp11's 'Mechanism invalid' (card: $(paste -sd';' "$tmp/tls12.sign")); s_server got alert internal_error, no finished handshake"
  ;;
esac

# 5b. TLS 1.2 with the client's signature algorithms limited to PKCS#1 v1.5
tls tls12p1 -tls1_2 -tls1_2 -client_sigalgs "$NO_PSS_SIGALGS"
handshake_ok tls12p1 TLSv1.2 RSA
verifies_ok tls12p1
only_sign tls12p1 '80 2A 00 97 Lc=51 -> 9000 len=256'
ok "TLS 1.2, s_client ... -client_sigalgs $NO_PSS_SIGALGS: s_server verified the client certificate, peer signature RSA (PKCS#1 v1.5)/SHA256; card: '$(cat "$tmp/tls12p1.sign")'"

# 5c. TLS 1.3 (CertificateVerify must be RSA-PSS)
tls tls13 -tls1_3 -tls1_3
case $MODE in
pss)
  handshake_ok tls13 TLSv1.3 RSA-PSS
  verifies_ok tls13
  only_sign tls13 '80 2A 04 97 Lc=32 -> 9000 len=256'
  ok "TLS 1.3, s_client -engine pkcs11: s_server verified the client certificate, peer signature RSA-PSS/SHA256; card: '$(cat "$tmp/tls13.sign")'"
  ;;
nopss)
  refused tls13
  ok "TLS 1.3 on a card refusing PSS: s_client fails with libp11's 'Mechanism invalid' (card: $(paste -sd';' "$tmp/tls13.sign")); s_server got alert internal_error, no finished handshake"
  ;;
esac

# 5d. control: a server that does not trust the card's CA refuses the certificate
if [[ $MODE == pss ]]; then
  CLIENT_CA=$tmp/ca.pem
  tls wrongca -tls1_3 -tls1_3
  CLIENT_CA=$tmp/auth_ca.pem
  ((rc != 0 && rc != 124)) || fail "wrong CA: s_client exit status $rc, expected a failure" "$tmp/wrongca.txt" "$tmp/wrongca.srv"
  [[ -s $tmp/wrongca.page ]] && fail "wrong CA: the client got the server's page" "$tmp/wrongca.txt" "$tmp/wrongca.srv"
  grep -q 'verify error' "$tmp/wrongca.srv" || fail "wrong CA: s_server reports no verify error" "$tmp/wrongca.srv"
  ok "control: s_server -CAfile <not the card's CA> rejects the card's certificate ($(grep -m1 'verify error' "$tmp/wrongca.srv"))"
fi

# ---- 6. a wrong PIN: fails, one try spent; the right PIN afterwards resets the counter --------
eng wrongpin openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "$KEY_URL" -passin "pass:$WRONG_PIN" \
  -out "$tmp/wrongpin.sig" "$tmp/data"
failed_status wrongpin "signing with a wrong PIN"
grep -q 'PKCS#11 module:ERR_CKR_error:PIN incorrect' "$tmp/wrongpin.out" ||
  fail "wrongpin: no libp11 'PIN incorrect' error" "$tmp/wrongpin.out"
auth_pin_verifies wrongpin
[[ $(wc -l <"$tmp/wrongpin.verify") == 1 && $(cat "$tmp/wrongpin.verify") == *" -> 63C2 "* ]] ||
  fail "wrongpin: expected exactly one VERIFY of the auth PIN with data, answered 63C2" "$tmp/wrongpin.apdu"
signatures "$tmp/wrongpin.apdu" | grep -q . && fail "wrongpin: the card signed" "$tmp/wrongpin.apdu"
eng again openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "$KEY_URL" -passin "pass:$AUTH_PIN" \
  -out "$tmp/again.sig" "$tmp/data"
((rc == 0)) || fail "the right PIN after the wrong one: openssl dgst failed (exit status $rc)" "$tmp/again.out" "$tmp/again.apdu"
verifies_ok again
grep -q '^00 20 00 98 Lc=0 -> 63C2 ' "$tmp/again.apdu" ||
  fail "the right PIN after the wrong one: the counter read did not show 2 tries left" "$tmp/again.apdu"
ok "-passin pass:<wrong PIN>: libp11 'PIN incorrect', card: '$(cat "$tmp/wrongpin.verify")' only (one try, no retry), no signature; the right PIN afterwards signs and resets the counter"

finish
