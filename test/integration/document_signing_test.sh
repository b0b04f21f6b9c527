#!/usr/bin/env bash
# Document signing with the signature key through NSS (issue 12): poppler's pdfsig with
# jpki-pkcs11-sign.so (the module file with only the signature token) in a fresh NSS database
# signs a PDF (adbe.pkcs7.detached), and pdfsig reports the signature valid and the signer's
# name; the certificate in the signature is the card's. (pdfsig 22.12 refuses -etsi with
# -add-signature, so no PAdES here.) The card: no PIN refused, the signature PIN presented inside the
# signature's own transaction (the VERIFY right before the signature), locked afterwards.
#
# Runs inside the harness with one card (CTest does this), e.g.
#   test/harness/pcsc-harness.sh --cards 1 --pki build/test-pki --sim build/test/sim/jpki-sim \
#     -- test/integration/document_signing_test.sh build/jpki-pkcs11-sign.so
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
SIGN_MODULE=$(readlink -f "${1:?usage: document_signing_test.sh SIGN_MODULE}")
NICK="JPKI Signature:Digital Signature Certificate"

[[ -n ${JPKI_SIM_LOG_1:-} && -n ${JPKI_PKI_DIR:-} ]] ||
  { echo "document_signing_test: run me inside test/harness/pcsc-harness.sh --cards 1" >&2; exit 2; }
need_tools pdfsig certutil modutil python3 opensc-tool
LOG=$JPKI_SIM_LOG_1
CARD=$JPKI_PKI_DIR/card1

# ---- 0. a fresh NSS database with the signature module and the signature CA trusted ----------
db=sql:$tmp/nssdb
mkdir -p "$tmp/nssdb"
must nssdb "certutil -N failed" certutil -N -d "$db" --empty-password
must modutil "modutil -add the signature module failed" modutil -dbdir "$db" -add JPKI-sign -libfile "$SIGN_MODULE" -force
must ca "certutil -A (signature CA) failed" certutil -A -d "$db" -n "JPKI test signature CA" -t "CT,C,C" -i "$CARD/sign_ca.der"
must mkpdf "writing the test PDF failed" python3 "$HERE/make_pdf.py" "$tmp/form.pdf"
ok "NSS database with $(basename "$SIGN_MODULE") and card1's signature CA trusted; a one-page PDF to sign"

# ---- 1. pdfsig -add-signature, then pdfsig to check it ------------------------------------------
from=$(apdu_mark)
must sign "pdfsig -add-signature failed" pdfsig -nssdir "$db" -add-signature -nick "$NICK" \
  -kpw "$SIGN_PIN" -nss-pwd "$SIGN_PIN" -reason "JPKI test" "$tmp/form.pdf" "$tmp/signed.pdf"
new_apdus sign "$from"
must check "pdfsig on the signed PDF failed" pdfsig -nssdir "$db" "$tmp/signed.pdf"
grep -q 'Signature Validation: Signature is Valid.' "$tmp/check.out" ||
  fail "pdfsig does not report the signature valid" "$tmp/check.out"
grep -q 'Signature Type: adbe.pkcs7.detached' "$tmp/check.out" || fail "not adbe.pkcs7.detached" "$tmp/check.out"
cn=$(openssl x509 -inform der -in "$CARD/sign_cert.der" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
grep -qF "Signer Certificate Common Name: $cn" "$tmp/check.out" || fail "the signer is not '$cn'" "$tmp/check.out"
# The signer certificate in the signature is the card's (pdfsig -dump writes the PKCS#7 blob).
(cd "$tmp" && pdfsig -dump "$tmp/signed.pdf" >"$tmp/dump.out" 2>&1) || fail "pdfsig -dump failed" "$tmp/dump.out"
must p7certs "openssl pkcs7 -print_certs failed" openssl pkcs7 -inform der -in "$tmp/signed.pdf.sig0" -print_certs -out "$tmp/signer.pem"
must card_cert "openssl x509 failed" openssl x509 -inform der -in "$CARD/sign_cert.der" -out "$tmp/card_sign.pem"
grep -qFf <(sed -n '2,4p' "$tmp/card_sign.pem") "$tmp/signer.pem" ||
  fail "the certificate in the signature is not card1/sign_cert.der" "$tmp/signer.pem"
grep -q 'Total document signed' "$tmp/check.out" || fail "the signature does not cover the whole document" "$tmp/check.out"

# The card: signatures with the signature key only (poppler signs twice: once to size the
# signature's room, once for real), each right after its PIN's VERIFY; no PIN refused.
sign_apdus sign
[[ -s $tmp/sign.sign ]] && ! grep -vq '^80 2A 00 9A ' "$tmp/sign.sign" ||
  fail "expected signature APDUs with the signature key only (80 2A 00 9A)" "$tmp/sign.sign" "$tmp/sign.apdu"
grep -E '^00 20 00 9[8B] Lc=[1-9]' "$tmp/sign.apdu" | grep -vq ' -> 9000 ' && fail "the card refused a PIN" "$tmp/sign.apdu"
grep -vE "$PROBES_RE" "$tmp/sign.apdu" | grep -B1 '^80 2A 00 9A ' | grep -vE '^80 2A |^--$' >"$tmp/sign.before"
[[ $(wc -l <"$tmp/sign.before") == $(wc -l <"$tmp/sign.sign") ]] &&
  ! grep -vq '^00 20 00 9B Lc=8 data=<redacted> -> 9000' "$tmp/sign.before" ||
  fail "a signature not right after the signature PIN's VERIFY" "$tmp/sign.apdu"
ok "pdfsig -add-signature: 'Signature is Valid.', adbe.pkcs7.detached, signer '$cn' (the certificate in the signature is card1/sign_cert.der), whole document; card: $(wc -l <"$tmp/sign.sign") signature(s) 80 2A 00 9A, each right after the signature PIN's VERIFY"

# ---- 2. the card afterwards -----------------------------------------------------------------------
card_locked locked "$JPKI_SIM_READER_1" || fail "after pdfsig the card signs without a VERIFY" "$tmp/locked.out"
ok "afterwards neither key signs without a new VERIFY (6982)"
finish
