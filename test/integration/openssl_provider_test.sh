#!/usr/bin/env bash
# OpenSSL 3 through pkcs11-provider (issue 11), the OpenSSL set-up that replaces libp11's engine:
# `openssl storeutl` lists the tokens' objects; `openssl pkeyutl -sign` with both keys, PKCS#1
# v1.5 and RSA-PSS (SHA-256, salt 32), each verified with the card's certificate; `openssl
# s_client` TLS 1.3 and 1.2 client authentication against `openssl s_server -Verify 1`;
# `openssl cms -sign` with the signature key, verified against the signature CA.
#
# Two configurations per token: the recommended one (README), OpenSSL's default provider listed
# first, for TLS; and one with the provider first, for everything else: OpenSSL then prefers
# the provider's own digests, which call back into the module from inside its own calls (the
# module hashes in a private OpenSSL context of its own, so nothing waits for itself). TLS does
# not work that way round: its transcript hash is copied, which a token's digest cannot be
# (C_GetOperationState is not supported).
# The provider gives its configured PIN to every login, CKU_USER and the signature key's
# per-signature CKU_CONTEXT_SPECIFIC alike, so each token gets a configuration of its own.
#
# Runs inside the harness with one card (CTest does this), e.g.
#   test/harness/pcsc-harness.sh --cards 1 --pki build/test-pki --sim build/test/sim/jpki-sim \
#     -- test/integration/openssl_provider_test.sh
# Environment: JPKI_MODULE (default build/jpki-pkcs11.so), PKCS11_PROVIDER (default: Debian's).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"
# shellcheck source-path=SCRIPTDIR source=tls_server.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/tls_server.sh"

PROVIDER=${PKCS11_PROVIDER:-/usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so}
AUTH_TOKEN='pkcs11:token=JPKI%20Authentication'
SIGN_TOKEN='pkcs11:token=JPKI%20Signature'
AUTH_KEY="$AUTH_TOKEN;object=Authentication%20Key;type=private"
SIGN_KEY="$SIGN_TOKEN;object=Digital%20Signature%20Key;type=private"

[[ -n ${JPKI_SIM_LOG_1:-} && -n ${JPKI_PKI_DIR:-} ]] ||
  { echo "openssl_provider_test: run me inside test/harness/pcsc-harness.sh --cards 1" >&2; exit 2; }
need_tools openssl timeout stdbuf opensc-tool
[[ -f $PROVIDER ]] || { echo "openssl_provider_test: $PROVIDER missing (pkcs11-provider)" >&2; exit 77; }
jpki_module
MODULE=$(readlink -f "$MODULE")
CARD=$JPKI_PKI_DIR/card1
LOG=$JPKI_SIM_LOG_1

# signed_on_card NAME P1 P2: the only signature APDU of NAME is one with P1 (00 PKCS#1, 04
# PSS) and P2 (97 auth key, 9A signature key), answered 9000; every PIN it sent was accepted.
signed_on_card() {
  sign_apdus "$1"
  [[ $(wc -l <"$tmp/$1.sign") == 1 ]] && grep -qE "^80 2A $2 $3 Lc=[0-9]+ -> 9000 len=256$" "$tmp/$1.sign" ||
    fail "$1: expected one signature APDU 80 2A $2 $3 answered 9000" "$tmp/$1.apdu"
  grep -E '^00 20 00 9[8B] Lc=[1-9]' "$tmp/$1.apdu" | grep -vq ' -> 9000 ' &&
    fail "$1: the card refused a PIN" "$tmp/$1.apdu"
  return 0
}

# ---- 0. PKI, one configuration per token -----------------------------------------------------
server_pki "jpki-pkcs11 OpenSSL provider test CA"
for f in auth_cert sign_cert sign_ca; do
  must "pem_$f" "converting card1/$f.der failed" openssl x509 -inform der -in "$CARD/$f.der" -out "$tmp/$f.pem"
done
for kind in auth sign; do
  if [[ $kind == auth ]]; then pin=$AUTH_PIN; else pin=$SIGN_PIN; fi
  printf '%s\n' "$pin" >"$tmp/$kind.pin"
  sections="[pkcs11_sect]
module = $PROVIDER
pkcs11-module-path = $MODULE
pkcs11-module-token-pin = file:$tmp/$kind.pin
activate = 1
[default_sect]
activate = 1"
  head='openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n[provider_sect]\n'
  printf "$head%s\n%s\n%s\n" 'default = default_sect' 'pkcs11 = pkcs11_sect' "$sections" >"$tmp/$kind.cnf"
  printf "$head%s\n%s\n%s\n" 'pkcs11 = pkcs11_sect' 'default = default_sect' "$sections" >"$tmp/$kind-first.cnf"
done
run_conf providers "$tmp/auth-first.cnf" openssl list -providers
grep -q 'PKCS#11 Provider' "$tmp/providers.out" || fail "openssl list -providers does not show pkcs11-provider" "$tmp/providers.out"
version=$(dpkg-query -W -f '${Version}' pkcs11-provider 2>/dev/null || echo '?')
ok "pkcs11-provider $version ($PROVIDER), pkcs11-module-path = this module; configurations with it after and before the default provider"

printf 'JPKI OpenSSL provider test data\n' >"$tmp/data"
must digest "openssl dgst -sha256 -binary failed" openssl dgst -sha256 -binary -out "$tmp/data.sha256" "$tmp/data"

# ---- 1. storeutl -----------------------------------------------------------------------------
run_conf store_certs "$tmp/auth-first.cnf" timeout "$CMD_TIMEOUT" openssl storeutl -certs "$AUTH_TOKEN"
((rc == 0)) || fail "openssl storeutl -certs '$AUTH_TOKEN' failed (exit status $rc)" "$tmp/store_certs.out"
n=$(grep -c '^[0-9]*: Certificate' "$tmp/store_certs.out" || true)
((n == 2)) || fail "storeutl -certs: expected 2 certificates (auth, auth CA), found $n" "$tmp/store_certs.out"
run_conf store_keys "$tmp/auth-first.cnf" timeout "$CMD_TIMEOUT" openssl storeutl -keys -text "$AUTH_TOKEN"
((rc == 0)) || fail "openssl storeutl -keys '$AUTH_TOKEN' failed (exit status $rc)" "$tmp/store_keys.out"
grep -q '^PKCS11 RSA Private Key (2048 bits)$' "$tmp/store_keys.out" &&
  grep -q '^URI pkcs11:.*token=JPKI%20Authentication;id=%01;object=Authentication%20Key;type=private$' "$tmp/store_keys.out" ||
  fail "storeutl -keys -text: expected the auth token's 2048-bit private key, id 01" "$tmp/store_keys.out"
ok "openssl storeutl: $n certificates on the auth token; -keys (logged in): the 2048-bit private key, id 01, 'Can't export' (it stays on the card)"

# ---- 2. pkeyutl -sign with both keys, PKCS#1 v1.5 and RSA-PSS salt 32 -----------------------
for spec in "auth|$AUTH_KEY|97|auth_cert" "sign|$SIGN_KEY|9A|sign_cert"; do
  IFS='|' read -r kind key p2 cert <<<"$spec"
  for pad in pkcs1 pss; do
    opts=(-pkeyopt digest:sha256)
    p1=00
    if [[ $pad == pss ]]; then
      opts+=(-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32)
      p1=04
    fi
    name=${kind}_$pad
    run_conf "$name" "$tmp/$kind-first.cnf" timeout "$CMD_TIMEOUT" openssl pkeyutl -sign -inkey "$key" \
      -in "$tmp/data.sha256" -out "$tmp/$name.sig" "${opts[@]}"
    ((rc == 0)) || fail "pkeyutl -sign ($kind key, $pad) failed (exit status $rc)" "$tmp/$name.out" "$tmp/$name.trace"
    must "${name}_verify" "the $kind key's $pad signature does not verify with card1/$cert.der" \
      openssl pkeyutl -verify -certin -inkey "$tmp/$cert.pem" -in "$tmp/data.sha256" -sigfile "$tmp/$name.sig" "${opts[@]}"
    signed_on_card "$name" "$p1" "$p2"
    grep -q '^jpki: C_GetInterface -> CKR_OK: PKCS 11 3.0$' "$tmp/$name.trace" ||
      fail "$name: pkcs11-provider did not take the PKCS 11 3.0 interface" "$tmp/$name.trace"
    ok "pkeyutl -sign with the $kind key (through the PKCS 11 3.0 interface), $pad (${opts[*]}): verifies with card1/$cert.der; card: $(cat "$tmp/$name.sign")"
  done
done

# ---- 3. TLS client authentication, TLS 1.3 and 1.2 --------------------------------------------
for v in 1_3 1_2; do
  s_client_tls "tls$v" "$tmp/auth.cnf" "-tls$v" -key "$AUTH_KEY" "-tls$v"
  s_client_handshake_ok "tls$v" "TLSv${v/_/.}" RSA-PSS
  signed_on_card "tls$v" 04 97
  ok "TLS ${v/_/.}, s_client with the card's key through pkcs11-provider: s_server verified the client certificate CN=$CN, peer signature RSA-PSS; card: $(cat "$tmp/tls$v.sign")"
done

# ---- 4. CMS with the signature key -------------------------------------------------------------
run_conf cms "$tmp/sign-first.cnf" timeout "$CMD_TIMEOUT" openssl cms -sign -binary -in "$tmp/data" -signer "$tmp/sign_cert.pem" \
  -inkey "$SIGN_KEY" -md sha256 -outform DER -out "$tmp/data.p7s"
((rc == 0)) || fail "openssl cms -sign with the signature key failed (exit status $rc)" "$tmp/cms.out" "$tmp/cms.trace"
signed_on_card cms 00 9A
must cms_verify "the CMS signature does not verify against card1/sign_ca.der" \
  openssl cms -verify -binary -inform DER -in "$tmp/data.p7s" -content "$tmp/data" -CAfile "$tmp/sign_ca.pem" \
  -purpose any -out "$tmp/cms_content"
cmp -s "$tmp/cms_content" "$tmp/data" || fail "cms -verify gave other content" "$tmp/cms_verify.out"
grep -q 'Verification successful' "$tmp/cms_verify.out" || fail "cms -verify did not say 'Verification successful'" "$tmp/cms_verify.out"
ok "openssl cms -sign with the signature key (SHA-256): 'Verification successful' against card1/sign_ca.der; card: $(cat "$tmp/cms.sign")"

# ---- 5. the card: every try left, locked ------------------------------------------------------
grep -q '^00 20 00 9[8B] Lc=[1-9].* -> 63C' "$LOG" && fail "a PIN was refused during the run (a try spent)" "$LOG"
card_locked locked "$JPKI_SIM_READER_1" || fail "after the run the card signs without a VERIFY" "$tmp/locked.out"
ok "no PIN refused in the whole run, and afterwards neither key signs without a new VERIFY (6982)"
finish
