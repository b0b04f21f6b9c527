#!/usr/bin/env bash
# Document signing with the signature key through NSS (issue 12), each with jpki-pkcs11-sign.so
# (the module file with only the signature token) in a fresh NSS database, as a user would:
#   1. PDF: poppler's pdfsig signs (adbe.pkcs7.detached); pdfsig reports the signature valid and
#      the signer's name; the certificate in the signature is the card's. (pdfsig 22.12 refuses
#      -etsi with -add-signature, so no PAdES from pdfsig here.)
#   2. XML: an enveloped XMLDSig (RSA-SHA256, C14N 2001) over an e-Gov style form, made through
#      xmlsec's NSS backend (xmldsig_nss_sign: Debian's xmlsec1 command has no NSS), verified by
#      xmlsec1 (OpenSSL) against the signature CA and against the card's certificate; a changed
#      form fails.
#   3. CMS / S/MIME: cmsutil -S (the NSS calls Thunderbird signs mail with), verified by
#      `openssl cms -verify` against the signature CA; why NSS refuses the certificate without
#      `-Y NONE` (no key encipherment: not an e-mail encryption certificate).
# Each: no PIN refused (no try spent), each signature right after the signature PIN's VERIFY
# (inside the signature's own transaction); at the end the card is locked and the signature
# PIN's counter is still full.
#
# Runs inside the harness with one card (CTest does this), e.g.
#   test/harness/pcsc-harness.sh --cards 1 --pki build/test-pki --sim build/test/sim/jpki-sim \
#     -- test/integration/document_signing_test.sh build/jpki-pkcs11-sign.so build/test/xmldsig_nss_sign
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
SIGN_MODULE=$(readlink -f "${1:?usage: document_signing_test.sh SIGN_MODULE XMLDSIG_NSS_SIGN}")
XMLDSIG_NSS_SIGN=${2:?usage: document_signing_test.sh SIGN_MODULE XMLDSIG_NSS_SIGN}
NICK="JPKI Signature:Digital Signature Certificate"

[[ -n ${JPKI_SIM_LOG_1:-} && -n ${JPKI_PKI_DIR:-} ]] ||
  { echo "document_signing_test: run me inside test/harness/pcsc-harness.sh --cards 1" >&2; exit 2; }
need_tools pdfsig certutil modutil cmsutil vfychain xmlsec1 openssl python3 opensc-tool
[[ -x $XMLDSIG_NSS_SIGN ]] || fail "no XML signing client ($XMLDSIG_NSS_SIGN): libxmlsec1-dev was missing at the build"
LOG=$JPKI_SIM_LOG_1
CARD=$JPKI_PKI_DIR/card1

# sign_card_checks NAME WHAT: the card's APDUs in $tmp/NAME.apdu (new_apdus) show signatures with
# the signature key only, each right after a VERIFY of the signature PIN that the card accepted
# (the PIN inside the signature's own transaction), and no PIN refused. Sets SIGN_CARD to say so.
sign_card_checks() {
  local name=$1 what=$2 refused
  sign_apdus "$name"
  [[ -s $tmp/$name.sign ]] && ! grep -vq '^80 2A 00 9A ' "$tmp/$name.sign" ||
    fail "$what: expected signature APDUs with the signature key only (80 2A 00 9A)" "$tmp/$name.sign" "$tmp/$name.apdu"
  refused=$({ grep -E '^00 20 00 9[8B] Lc=[1-9]' "$tmp/$name.apdu" || true; } | { grep -v ' -> 9000 ' || true; })
  [[ -z $refused ]] || fail "$what: the card refused a PIN: $refused" "$tmp/$name.apdu"
  grep -vE "$PROBES_RE" "$tmp/$name.apdu" | grep -B1 '^80 2A 00 9A ' | grep -vE '^80 2A |^--$' >"$tmp/$name.before" || true
  [[ $(wc -l <"$tmp/$name.before") == $(wc -l <"$tmp/$name.sign") ]] &&
    ! grep -vq '^00 20 00 9B Lc=8 data=<redacted> -> 9000' "$tmp/$name.before" ||
    fail "$what: a signature not right after the signature PIN's VERIFY" "$tmp/$name.apdu"
  SIGN_CARD="card: $(wc -l <"$tmp/$name.sign") signature(s) 80 2A 00 9A, each right after the signature PIN's VERIFY, no PIN refused"
}

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

sign_card_checks sign "pdfsig"
ok "pdfsig -add-signature: 'Signature is Valid.', adbe.pkcs7.detached, signer '$cn' (the certificate in the signature is card1/sign_cert.der), whole document; $SIGN_CARD"

# ---- 2. XML signature (XMLDSig, enveloped) over an e-Gov style form through xmlsec's NSS backend -
# NSS asks for the password twice: to log in (the signature certificate is private) and for the
# key's own signature; the environment variable plays the user's dialog (xmldsig_nss_sign.cpp).
from=$(apdu_mark)
must xmlsign "xmldsig_nss_sign failed" env JPKI_XMLSIGN_PIN="$SIGN_PIN" "$XMLDSIG_NSS_SIGN" "$db" "$NICK" \
  "$HERE/egov_form.xml" "$tmp/form-signed.xml"
new_apdus xmlsign "$from"
asked=$(grep -c '^password asked: JPKI Signature (retry: no)$' "$tmp/xmlsign.out" || true)
[[ $asked == 2 ]] && ! grep -q 'retry: yes' "$tmp/xmlsign.out" ||
  fail "NSS asked for the signature password $asked times (expected 2: login and the key's signature), or asked again" "$tmp/xmlsign.out"
for want in 'rsa-sha256"' 'REC-xml-c14n-20010315"' 'enveloped-signature"'; do
  grep -qF "$want" "$tmp/form-signed.xml" || fail "the signed form lacks $want" "$tmp/form-signed.xml"
done
# The certificate in <ds:X509Certificate> is the card's.
sed -n '/<ds:X509Certificate>/,/<\/ds:X509Certificate>/p' "$tmp/form-signed.xml" |
  sed 's/<[^>]*>//g' | tr -d ' \n' | base64 -d >"$tmp/xml_cert.der" 2>/dev/null || true
cmp -s "$tmp/xml_cert.der" "$CARD/sign_cert.der" || fail "the certificate in the XML signature is not card1/sign_cert.der" "$tmp/form-signed.xml"
# OpenSSL's backend verifies: with the certificate in the document, chained to the signature CA;
# and with the card's certificate given as the key. A changed form does not verify.
must xmlverify "xmlsec1 --verify (signature CA) failed" xmlsec1 --verify --trusted-der "$CARD/sign_ca.der" \
  --enabled-key-data x509 "$tmp/form-signed.xml"
grep -qx 'OK' "$tmp/xmlverify.out" && grep -q 'SignedInfo References (ok/all): 1/1' "$tmp/xmlverify.out" ||
  fail "xmlsec1 --verify does not say OK" "$tmp/xmlverify.out"
must xmlverify_cert "xmlsec1 --verify (the card's certificate) failed" xmlsec1 --verify \
  --pubkey-cert-der "$CARD/sign_cert.der" --enabled-key-data key-name "$tmp/form-signed.xml"
! run xmlverify_other xmlsec1 --verify --pubkey-cert-der "$CARD/auth_cert.der" --enabled-key-data key-name \
  "$tmp/form-signed.xml" || fail "the XML signature verifies with the authentication certificate" "$tmp/xmlverify_other.out"
sed 's|<Name>TEST TARO</Name>|<Name>TEST JIRO</Name>|' "$tmp/form-signed.xml" >"$tmp/form-changed.xml"
! cmp -s "$tmp/form-signed.xml" "$tmp/form-changed.xml" || fail "could not change the signed form"
! run xmlverify_changed xmlsec1 --verify --trusted-der "$CARD/sign_ca.der" --enabled-key-data x509 \
  "$tmp/form-changed.xml" || fail "a changed form verifies" "$tmp/xmlverify_changed.out"
sign_card_checks xmlsign "xmldsig_nss_sign"
ok "XMLDSig (enveloped, RSA-SHA256, C14N) over egov_form.xml with xmlsec's NSS backend: 2 password requests (login, the key's signature), none repeated; xmlsec1 --verify (OpenSSL) OK against the signature CA and against card1/sign_cert.der, not against the auth certificate, and a changed form fails; $SIGN_CARD"

# ---- 3. CMS / S/MIME with cmsutil, as Thunderbird signs mail (NSS's CMS calls) --------------------
# The signature certificate's key usage is digitalSignature + nonRepudiation (no keyEncipherment):
# NSS validates it for signing mail (certUsageEmailSigner) and not for receiving it
# (certUsageEmailRecipient). cmsutil -S by default also looks for the signer's encryption
# certificate (the SMIMEEncryptionKeyPreference attribute) and so fails; -Y NONE leaves that out.
must vfy_signer "vfychain -u 4 (e-mail signer) failed" vfychain -d "$db" -u 4 "$CARD/sign_cert.der"
grep -q 'Chain is good!' "$tmp/vfy_signer.out" || fail "NSS does not validate the signature certificate for e-mail signing" "$tmp/vfy_signer.out"
! run vfy_recipient vfychain -d "$db" -u 5 "$CARD/sign_cert.der" ||
  fail "NSS validates the signature certificate for e-mail encryption" "$tmp/vfy_recipient.out"
grep -q 'ERROR -8102: Certificate key usage inadequate' "$tmp/vfy_recipient.out" ||
  fail "vfychain -u 5 fails for another reason than the key usage" "$tmp/vfy_recipient.out"
ku=$(openssl x509 -inform der -in "$CARD/sign_cert.der" -noout -ext keyUsage | sed -n '2s/^ *//p')
[[ $ku == "Digital Signature, Non Repudiation" ]] || fail "the signature certificate's key usage is '$ku'"
printf 'From: test@example.invalid\r\nSubject: JPKI test\r\n\r\nSigned with the JPKI signature key.\r\n' >"$tmp/mail.txt"
from=$(apdu_mark)
! run cms_default cmsutil -S -T -G -P -N "$NICK" -i "$tmp/mail.txt" -o "$tmp/mail-default.p7s" -d "$db" -p "$SIGN_PIN" ||
  fail "cmsutil -S without -Y NONE signed (it should look for an encryption certificate and fail)" "$tmp/cms_default.out"
grep -q 'corresponding cert for key .* does not exist: SEC_ERROR_INADEQUATE_KEY_USAGE' "$tmp/cms_default.out" ||
  fail "cmsutil -S without -Y NONE fails for another reason than the missing encryption certificate" "$tmp/cms_default.out"
must cms "cmsutil -S -Y NONE failed" cmsutil -S -T -G -P -Y NONE -N "$NICK" -i "$tmp/mail.txt" \
  -o "$tmp/mail.p7s" -d "$db" -p "$SIGN_PIN"
new_apdus cms "$from"
must cms_pem "openssl x509 (signature CA) failed" openssl x509 -inform der -in "$CARD/sign_ca.der" -out "$tmp/sign_ca.pem"
must cms_verify "openssl cms -verify failed" openssl cms -verify -binary -inform DER -in "$tmp/mail.p7s" \
  -content "$tmp/mail.txt" -CAfile "$tmp/sign_ca.pem" -purpose any -out /dev/null -signer "$tmp/cms_signer.pem"
grep -q 'CMS Verification successful' "$tmp/cms_verify.out" || fail "openssl cms -verify does not say so" "$tmp/cms_verify.out"
must cms_card_pem "openssl x509 failed" openssl x509 -in "$tmp/cms_signer.pem" -outform der -out "$tmp/cms_signer.der"
cmp -s "$tmp/cms_signer.der" "$CARD/sign_cert.der" || fail "the CMS signer is not card1/sign_cert.der"
must cms_print "openssl cms -cmsout -print failed" openssl cms -cmsout -print -inform DER -in "$tmp/mail.p7s"
for attr in contentType signingTime messageDigest 'S/MIME Capabilities'; do
  grep -qF "object: $attr" "$tmp/cms_print.out" || fail "the CMS signature lacks the $attr attribute" "$tmp/cms_print.out"
done
printf 'From: test@example.invalid\r\nSubject: JPKI test\r\n\r\nSigned with the JPKI signature kex.\r\n' >"$tmp/mail-changed.txt"
! run cms_changed openssl cms -verify -binary -inform DER -in "$tmp/mail.p7s" -content "$tmp/mail-changed.txt" \
  -CAfile "$tmp/sign_ca.pem" -purpose any -out /dev/null || fail "a changed mail verifies" "$tmp/cms_changed.out"
must cms_nss "cmsutil -D (NSS's check) failed" cmsutil -D -i "$tmp/mail.p7s" -c "$tmp/mail.txt" -d "$db" -u 4 -h 1 -n
grep -q 'signer0.status=GoodSignature' "$tmp/cms_nss.out" || fail "cmsutil -D does not find the signature good" "$tmp/cms_nss.out"
sign_card_checks cms "cmsutil -S"
ok "vfychain: the signature certificate ($ku) is valid for e-mail signing (-u 4), not for e-mail encryption (-u 5: -8102 key usage); cmsutil -S without -Y NONE fails (SEC_ERROR_INADEQUATE_KEY_USAGE: no encryption certificate for the SMIMEEncryptionKeyPreference attribute); cmsutil -S -T -G -P -Y NONE: detached CMS with signingTime and S/MIME capabilities, openssl cms -verify against the signature CA successful, signer card1/sign_cert.der, cmsutil -D GoodSignature, a changed mail fails; $SIGN_CARD"

# ---- 4. the card afterwards -----------------------------------------------------------------------
card_locked locked "$JPKI_SIM_READER_1" || fail "after the signatures the card signs without a VERIFY" "$tmp/locked.out"
# The signature PIN's counter (the last empty VERIFY the module sent): still 5 tries.
last=$(grep -E '^00 20 00 9B Lc=0 ' "$LOG" | tail -n 1)
[[ $last == *' -> 63C5 '* ]] || fail "the signature PIN's counter read last: '$last' (expected 63C5, 5 tries)" "$LOG"
ok "afterwards neither key signs without a new VERIFY (6982); the signature PIN still has 5 tries (63C5)"
finish
