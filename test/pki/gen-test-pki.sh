#!/usr/bin/env bash
# Generates a throw-away JPKI-shaped test PKI for the card simulator and the tests.
#
#   gen-test-pki.sh OUTDIR [NCARDS]      (NCARDS defaults to 2)
#
# Layout written (all certificates DER, all keys RSA-2048 PKCS#8 PEM):
#   OUTDIR/ca/{auth_ca,sign_ca}.key.pem, OUTDIR/ca/{auth_ca,sign_ca}.der
#   OUTDIR/card<i>/auth_key.pem auth_cert.der auth_ca.der
#                  sign_key.pem sign_cert.der sign_ca.der
#                  serial.txt   (exactly 16 ASCII characters, no newline)
#
# Everything here is test data: names carry "TEST", URIs use the reserved .invalid TLD and
# policy OIDs use the 2.999 "example" arc, so nothing can be mistaken for a real JPKI object.
# Only the shape (DN layout, extensions, SAN otherName OIDs, sizes) mimics real cards.
set -euo pipefail

usage() { echo "usage: $0 OUTDIR [NCARDS]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
OUT=$1
NCARDS=${2:-2}
[[ $NCARDS =~ ^[1-9][0-9]*$ ]] || usage

# Real certificates are 1–2 KB, and the module's READ BINARY loop must be exercised over
# several 256-byte chunks; reject anything outside that window (1229 = 1.2 KiB, 2000 < 2 KB).
MIN_SIZE=1229
MAX_SIZE=2000

SELF=$(readlink -f "${BASH_SOURCE[0]}")

# Fresh enough: the last card's last file is newer than this script, so nothing to do.
fresh() { [[ -f $OUT/card$NCARDS/sign_cert.der && $OUT/card$NCARDS/sign_cert.der -nt $SELF ]]; }
fresh && exit 0

mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
# Several test runs may call us at once for the same directory: serialise them (bounded) and
# re-check after taking the lock, so only the first one generates.
exec 9>"$OUT/.gen.lock"
flock -w 120 9 || { echo "gen-test-pki: timed out waiting for $OUT/.gen.lock" >&2; exit 1; }
fresh && exit 0

# Build in a staging directory and move into place at the end, so a failed or interrupted
# run never leaves a half-written card that looks fresh.
STAGE=$(mktemp -d "$OUT/.stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
LOG=$STAGE/openssl.log

# Run openssl quietly; on failure show what it said.
ossl() {
  if ! openssl "$@" >>"$LOG" 2>&1; then
    echo "gen-test-pki: openssl $1 failed:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
}

newkey() { ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }

# Positive, non-zero 64-bit serial number (leading 0x01 byte keeps it positive and long).
randserial() { echo "0x01$(openssl rand -hex 7)"; }

# One config file holds every extension profile; per-card values come in through env vars
# (openssl expands ${ENV::NAME}).
CNF=$STAGE/ext.cnf
cat >"$CNF" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused

[ca_ext]
basicConstraints       = critical, CA:true
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
certificatePolicies    = @ca_policy
crlDistributionPoints  = URI:http://crl.jpki-test.invalid/arl/test-ca-arl.crl

[auth_ext]
basicConstraints       = CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
certificatePolicies    = @auth_policy
crlDistributionPoints  = URI:http://crl.jpki-test.invalid/auth/${ENV::JPKI_CRL_PART}.crl, URI:ldap://ldap.jpki-test.invalid/cn=${ENV::JPKI_CRL_PART}%2Cou=JPKI%20for%20user%20authentication%2Co=JPKI%20TEST%2Cc=JP?certificateRevocationList
authorityInfoAccess    = OCSP;URI:http://ocsp.jpki-test.invalid/auth, caIssuers;URI:http://repo.jpki-test.invalid/auth/auth_ca.der

[sign_ext]
basicConstraints       = CA:false
keyUsage               = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
certificatePolicies    = @sign_policy
subjectAltName         = @sign_san
crlDistributionPoints  = URI:http://crl.jpki-test.invalid/sign/${ENV::JPKI_CRL_PART}.crl
authorityInfoAccess    = OCSP;URI:http://ocsp.jpki-test.invalid/sign, caIssuers;URI:http://repo.jpki-test.invalid/sign/sign_ca.der

# The JPKI attribute OIDs (name, name alt form, sex, date of birth, address, address alt
# form). FORMAT:UTF8 makes openssl take the config bytes as UTF-8 instead of re-encoding them
# as Latin-1 (which would double-encode the kanji).
[sign_san]
otherName.1 = 1.2.392.200149.8.5.5.1;FORMAT:UTF8,UTF8:${ENV::JPKI_NAME}
otherName.2 = 1.2.392.200149.8.5.5.2;FORMAT:UTF8,UTF8:${ENV::JPKI_NAME_ALT}
otherName.3 = 1.2.392.200149.8.5.5.3;UTF8:${ENV::JPKI_SEX}
otherName.4 = 1.2.392.200149.8.5.5.4;PRINTABLESTRING:${ENV::JPKI_DOB}
otherName.5 = 1.2.392.200149.8.5.5.5;FORMAT:UTF8,UTF8:${ENV::JPKI_ADDR}
otherName.6 = 1.2.392.200149.8.5.5.6;FORMAT:UTF8,UTF8:${ENV::JPKI_ADDR_ALT}

[ca_policy]
policyIdentifier = 2.999.392.200149.1
CPS.1 = http://repo.jpki-test.invalid/cps/test-ca-cps.html
userNotice.1 = @ca_notice
[ca_notice]
explicitText = "TEST certification authority for jpki-pkcs11 tests, not operated by J-LIS"

[auth_policy]
policyIdentifier = 2.999.392.200149.3.30
CPS.1 = http://repo.jpki-test.invalid/cps/user-authentication-cps.html
userNotice.1 = @auth_notice
[auth_notice]
explicitText = "TEST certificate for user authentication, not issued by J-LIS"

[sign_policy]
policyIdentifier = 2.999.392.200149.1.10
CPS.1 = http://repo.jpki-test.invalid/cps/digital-signature-cps.html
userNotice.1 = @sign_notice
[sign_notice]
explicitText = "TEST certificate for digital signature, not issued by J-LIS"
EOF
export JPKI_CRL_PART=unused JPKI_NAME=unused JPKI_NAME_ALT=unused JPKI_SEX=1 JPKI_DOB=19800101 \
       JPKI_ADDR=unused JPKI_ADDR_ALT=unused

# DNs are given in DER order (C first); RFC 2253 display shows them reversed, i.e.
# "OU=Japan Agency ..., OU=JPKI for ..., O=JPKI TEST, C=JP" as on real cards.
AGENCY="OU=Japan Agency for Local Authority Information Systems"
mkca() { # name "OU=purpose"
  newkey "$STAGE/ca/$1.key.pem"
  ossl req -new -x509 -config "$CNF" -key "$STAGE/ca/$1.key.pem" -sha256 -days 7300 \
    -set_serial "$(randserial)" -subj "/C=JP/O=JPKI TEST/$2/$AGENCY" \
    -extensions ca_ext -outform DER -out "$STAGE/ca/$1.der"
  openssl x509 -inform DER -in "$STAGE/ca/$1.der" -out "$STAGE/ca/$1.pem"
}
mkdir -p "$STAGE/ca"
mkca auth_ca "OU=JPKI for user authentication"
mkca sign_ca "OU=JPKI for digital signature"

issue() { # ca ext subject key out
  ossl req -new -config "$CNF" -key "$4" -subj "$3" -out "$STAGE/req.csr"
  ossl x509 -req -in "$STAGE/req.csr" -CA "$STAGE/ca/$1.pem" -CAkey "$STAGE/ca/$1.key.pem" \
    -set_serial "$(randserial)" -days 1826 -sha256 -extfile "$CNF" -extensions "$2" \
    -outform DER -out "$5"
}

# Test identities cycle through these; index i picks one, and the card number is appended to
# the names so every card differs.
SURNAMES=("テスト" "試験" "検証")
GIVEN=("太郎" "花子" "次郎")
KANA_SUR=("TESUTO" "SHIKEN" "KENSHO")
KANA_GIVEN=("TARO" "HANAKO" "JIRO")
SEXES=(1 2 1)

for ((i = 1; i <= NCARDS; i++)); do
  d=$STAGE/card$i
  mkdir -p "$d"
  k=$(((i - 1) % 3))

  # Auth cert: opaque serial-like CN (16 random hex + 4-digit card number = 20 chars, unique
  # per card), no personal data.
  auth_cn="$(openssl rand -hex 8 | tr a-f A-F)$(printf '%04d' "$i")"
  JPKI_CRL_PART="CRL$(printf '%04d' $(((i - 1) / 10 + 1)))"
  newkey "$d/auth_key.pem"
  issue auth_ca auth_ext "/C=JP/CN=$auth_cn" "$d/auth_key.pem" "$d/auth_cert.der"

  # Sign cert: test holder name in the subject and the JPKI attributes in SAN otherNames.
  export JPKI_NAME="${SURNAMES[k]}　${GIVEN[k]}${i}"
  export JPKI_NAME_ALT="${KANA_SUR[k]} ${KANA_GIVEN[k]} ${i}"
  export JPKI_SEX=${SEXES[k]}
  JPKI_DOB=$(printf '19%02d0%d%02d' $((70 + i % 30)) $((1 + i % 9)) $((1 + i % 28)))
  export JPKI_ADDR="東京都千代田区テスト町${i}丁目1番1号"
  export JPKI_ADDR_ALT="1-1 TESUTO-CHO ${i}-CHOME CHIYODA-KU TOKYO"
  newkey "$d/sign_key.pem"
  issue sign_ca sign_ext "/C=JP/ST=Tokyo/L=Chiyoda-ku/CN=TEST ${KANA_GIVEN[k]} $i" \
    "$d/sign_key.pem" "$d/sign_cert.der"

  cp "$STAGE/ca/auth_ca.der" "$d/auth_ca.der"
  cp "$STAGE/ca/sign_ca.der" "$d/sign_ca.der"
  # 16-character token serial for EF 0006 (no trailing newline: the file is the value).
  printf 'JPKITEST%08d' "$i" >"$d/serial.txt"

  # Self-checks: size window, chain, and that each private key matches its certificate.
  for c in auth sign; do
    for f in "$d/${c}_cert.der" "$d/${c}_ca.der"; do
      s=$(stat -c %s "$f")
      if ((s < MIN_SIZE || s > MAX_SIZE)); then
        echo "gen-test-pki: $f is $s bytes, outside $MIN_SIZE..$MAX_SIZE" >&2
        exit 1
      fi
    done
    openssl x509 -inform DER -in "$d/${c}_cert.der" -out "$STAGE/leaf.pem"
    if ! out=$(openssl verify -x509_strict -CAfile "$STAGE/ca/${c}_ca.pem" "$STAGE/leaf.pem" 2>&1); then
      echo "gen-test-pki: card$i ${c}_cert.der does not verify: $out" >&2
      exit 1
    fi
    if [[ $(openssl x509 -in "$STAGE/leaf.pem" -noout -pubkey) != \
          $(openssl pkey -in "$d/${c}_key.pem" -pubout) ]]; then
      echo "gen-test-pki: card$i ${c}_key.pem does not match ${c}_cert.der" >&2
      exit 1
    fi
  done
done

# Keys are private by habit even though they are test keys.
chmod 600 "$STAGE"/ca/*.key.pem "$STAGE"/card*/*_key.pem

# A new CA orphans cards from earlier, larger runs: drop them rather than leave certificates
# that no longer chain.
for d in "$OUT"/card*; do
  [[ -d $d && ${d##*/card} =~ ^[0-9]+$ ]] || continue
  ((${d##*/card} > NCARDS)) && rm -rf "$d"
done
# Move into place: ca first, the last card last, so fresh() only turns true once all is done.
rm -rf "$OUT/ca" && mv "$STAGE/ca" "$OUT/ca"
rm -f "$OUT/ca/auth_ca.pem" "$OUT/ca/sign_ca.pem"
for ((i = 1; i <= NCARDS; i++)); do
  rm -rf "$OUT/card$i" && mv "$STAGE/card$i" "$OUT/card$i"
done
echo "gen-test-pki: $NCARDS card(s) written to $OUT"
