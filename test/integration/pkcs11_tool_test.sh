#!/usr/bin/env bash
# pkcs11-tool (OpenSC 0.23) driving this project's module through the real stack: pkcs11-tool ->
# jpki-pkcs11.so -> libpcsclite -> private pcscd -> vpcd -> jpki-sim, with two simulated cards.
# Checks the tokens pkcs11-tool sees, the objects and certificates, a signature with every
# mechanism on both keys (verified by openssl with the certificates read back through the
# module), pkcs11-tool's own --test, that the card is left locked after every process, the PIN
# lockout flags, and that no PIN ever reaches the APDU logs or the module's trace.
#
# Runs inside the harness with two cards (CTest does this):
#   test/harness/pcsc-harness.sh --cards 2 --pki build/test-pki --sim build/test/sim/jpki-sim \
#     -- test/integration/pkcs11_tool_test.sh
# Prints one "ok: ..." line per check and "N passed, 0 failed" at the end; the first failing
# check prints what it saw and exits 1. The wrong-PIN checks run last: they lock card 2's auth
# PIN for the rest of the harness run.
#
# Environment: JPKI_MODULE is the module (default: build/jpki-pkcs11.so of this source tree).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh" # ok, fail, run, must, $tmp, ...

BAD_LEN_PIN=12345 # 5 digits: the auth PIN is exactly 4
AUTH_LABEL="JPKI Authentication"
SIGN_LABEL="JPKI Signature"
JPKI_AID=D392F000260100000001
SHA256_DI_PREFIX=3031300d060960864801650304020105000420

# slot_field FILE READER LABEL COLUMN: column (1 = ID ... 6 = flags) of the slots (checks.sh's
# `slots`) in READER whose token has LABEL.
slot_field() {
  slots "$1" | awk -F '\t' -v r="$2" -v l="$3" -v c="$4" '$2 == r && $3 == l { print $c }'
}

# verify_count LOG: VERIFY commands with data (a PIN try) in a simulator APDU log.
verify_count() { grep -E '^00 20 00 ' "$1" | grep -vc ' Lc=0 ' || true; }

# sws FILE: the status words of opensc-tool -s output, one "SW1SW2" (e.g. 6982) per APDU.
sws() {
  sed -nE 's/.*Received \(SW1=0x([0-9A-Fa-f]{2}), *SW2=0x([0-9A-Fa-f]{2})\).*/\1\2/p' "$1" |
    tr 'a-f' 'A-F' | paste -sd ' ' -
}

# raw_sign NAME APDU...: select the JPKI AP on card 1 and send APDUs with opensc-tool (default
# driver: no card-driver probing); RAW_SWS = the status words, SELECT's first.
RAW_SWS=""
raw_sign() {
  local name=$1 a args=(-s "00A4040C0A$JPKI_AID")
  shift
  for a in "$@"; do args+=(-s "$a"); done
  must "$name" "opensc-tool on card 1's reader failed" opensc-tool -c default --reader "$RAW_READER" "${args[@]}"
  RAW_SWS=$(sws "$tmp/$name.out")
}

# check_locked AFTER: neither key of card 1 signs without a new VERIFY (SW 6982) once the
# pkcs11-tool process described by AFTER has ended.
lock_n=0
check_locked() {
  lock_n=$((lock_n + 1))
  raw_sign "locked$lock_n" "$RAW_SIGN_AUTH" "$RAW_SIGN_SIGN"
  [[ $RAW_SWS == "9000 6982 6982" ]] ||
    fail "after $1 card 1 is not locked: raw signature APDUs (auth key P2=97, signature key P2=9A) answered '$RAW_SWS', expected '9000 6982 6982'" \
      "$tmp/locked$lock_n.out"
}

# ---------------------------------------------------------------------------------------------
[[ ${JPKI_SIM_COUNT:-0} -ge 2 && -n ${JPKI_SIM_LOG_1:-} && -n ${JPKI_SIM_LOG_2:-} && -n ${JPKI_PKI_DIR:-} ]] ||
  { echo "pkcs11_tool_test: run me inside test/harness/pcsc-harness.sh --cards 2" >&2; exit 2; }
need_tools pkcs11-tool opensc-tool openssl awk sed paste timeout cmp xxd
jpki_module
for i in 1 2; do
  for f in auth_cert.der sign_cert.der auth_ca.der sign_ca.der serial.txt; do
    [[ -f $JPKI_PKI_DIR/card$i/$f ]] || { echo "pkcs11_tool_test: $JPKI_PKI_DIR/card$i/$f missing" >&2; exit 2; }
  done
done
CARD1=$JPKI_PKI_DIR/card1
LOG1=$JPKI_SIM_LOG_1
LOG2=$JPKI_SIM_LOG_2
P11=(pkcs11-tool --module "$MODULE")

# Test data, its hashes and the SHA-256 DigestInfo.
printf 'jpki-pkcs11 pkcs11-tool test %s\n' "$(date -u +%FT%TZ)" >"$tmp/data"
head -c 3000 /dev/urandom >>"$tmp/data"
openssl dgst -sha256 -binary "$tmp/data" >"$tmp/data.sha256"
{ printf '%s' "$SHA256_DI_PREFIX" | xxd -r -p; cat "$tmp/data.sha256"; } >"$tmp/data.di"
(($(wc -c <"$tmp/data.sha256") == 32 && $(wc -c <"$tmp/data.di") == 51)) ||
  fail "could not build the SHA-256 hash / DigestInfo of the test data"

# ---- 1. tokens -------------------------------------------------------------------------------
must list "pkcs11-tool -L failed" "${P11[@]}" -L
L=$tmp/list.out
n=$(slots "$L" | wc -l)
((n == 4)) || fail "-L: expected 4 tokens (2 cards x 2), found $n" "$L"
declare -A SLOT SERIAL
for i in 1 2; do
  reader_var=JPKI_SIM_READER_$i
  reader=${!reader_var}
  want_serial=$(tr -d ' \r\n' <"$JPKI_PKI_DIR/card$i/serial.txt")
  n=$(slots "$L" | awk -F '\t' -v r="$reader" '$2 == r' | wc -l)
  ((n == 2)) || fail "-L: expected 2 tokens in card $i's reader '$reader', found $n" "$L"
  for spec in "auth|$AUTH_LABEL|4/4" "sign|$SIGN_LABEL|6/16"; do
    IFS='|' read -r kind label want_pin <<<"$spec"
    id=$(slot_field "$L" "$reader" "$label" 1)
    [[ -n $id && $id != *$'\n'* ]] || fail "-L: card $i's reader '$reader' has no (or several) '$label' token" "$L"
    serial=$(slot_field "$L" "$reader" "$label" 4)
    [[ $serial == "$want_serial" ]] ||
      fail "-L: card $i's '$label' token has serial '$serial', card$i/serial.txt says '$want_serial'" "$L"
    pin=$(slot_field "$L" "$reader" "$label" 5)
    [[ $pin == "$want_pin" ]] || fail "-L: card $i's '$label' token has pin min/max '$pin', expected $want_pin" "$L"
    flags=$(slot_field "$L" "$reader" "$label" 6)
    for f in "login required" "token initialized" "PIN initialized"; do
      has_flag "$flags" "$f" || fail "-L: card $i's '$label' token lacks flag '$f' (flags: $flags)" "$L"
    done
    for f in "user PIN count low" "final user PIN try" "user PIN locked"; do
      has_flag "$flags" "$f" && fail "-L: fresh card $i's '$label' token already has flag '$f'" "$L"
    done
    SLOT[$kind$i]=$id
    SERIAL[$kind$i]=$serial
    ok "-L: card $i ('$reader') token '$label' in slot $id, serial $serial, pin min/max $pin, flags: $flags"
  done
done
[[ ${SERIAL[auth1]} == "${SERIAL[sign1]}" && ${SERIAL[auth2]} == "${SERIAL[sign2]}" &&
  ${SERIAL[auth1]} != "${SERIAL[auth2]}" ]] ||
  fail "-L: serials are not one per card (${SERIAL[auth1]} ${SERIAL[sign1]} / ${SERIAL[auth2]} ${SERIAL[sign2]})" "$L"
ok "-L: both tokens of a card share its serial, the two cards differ (${SERIAL[auth1]}, ${SERIAL[auth2]})"

# opensc-tool's index of card 1's reader, and the raw signature APDUs (SHA-256 DigestInfo, P1=00).
must readers "opensc-tool -l failed" opensc-tool -l
RAW_READER=$(awk -v r="$JPKI_SIM_READER_1" '$1 ~ /^[0-9]+$/ {
    name = $0; sub(/^[0-9]+ +(Yes|No) +/, "", name); sub(/ +$/, "", name)
    if (name == r) print $1 }' "$tmp/readers.out")
[[ $RAW_READER =~ ^[0-9]+$ ]] || fail "opensc-tool -l does not list card 1's reader '$JPKI_SIM_READER_1' once" "$tmp/readers.out"
DI_HEX=$(xxd -p -c 256 "$tmp/data.di" | tr 'a-f' 'A-F')
RAW_SIGN_AUTH=802A009733${DI_HEX}00
RAW_SIGN_SIGN=802A009A33${DI_HEX}00

# Control for the lock checks: a VERIFY survives the client's disconnect (opensc-tool leaves the
# card as it is), so the module has to lock the card itself; a cold reset locks it.
raw_sign ctl_verify "0020009804$(printf '%s' "$AUTH_PIN" | xxd -p)" \
  "0020009B08$(printf '%s' "$SIGN_PIN" | xxd -p)" "$RAW_SIGN_AUTH" "$RAW_SIGN_SIGN"
[[ $RAW_SWS == "9000 9000 9000 9000 9000" ]] ||
  fail "control: select, VERIFY both PINs, sign with both keys answered '$RAW_SWS'" "$tmp/ctl_verify.out"
raw_sign ctl_again "$RAW_SIGN_AUTH" "$RAW_SIGN_SIGN"
[[ $RAW_SWS == "9000 9000 9000" ]] ||
  fail "control: in a second opensc-tool process both keys should still sign, got '$RAW_SWS'" "$tmp/ctl_again.out"
must ctl_reset "opensc-tool --reset failed" opensc-tool -c default --reader "$RAW_READER" --reset
check_locked "a cold reset"
ok "control: raw signature APDUs on opensc-tool reader $RAW_READER sign after VERIFY (also in the next process), answer '9000 6982 6982' after a reset"

# ---- 2. objects and certificates -------------------------------------------------------------
A1=(--slot "${SLOT[auth1]}")
S1=(--slot "${SLOT[sign1]}")

must auth_objs "-O on card 1's auth token failed" "${P11[@]}" "${A1[@]}" -O
got=$(objects "$tmp/auth_objs.out")
[[ $got == "cert:01 cert:03 pubkey:01" ]] ||
  fail "-O on card 1's auth token lists '$got', expected 'cert:01 cert:03 pubkey:01' (no private key before login)" "$tmp/auth_objs.out"
ok "-O on card 1's auth token (no login): $got"

must auth_objs_login "-O with login on card 1's auth token failed" \
  "${P11[@]}" "${A1[@]}" --login --pin "$AUTH_PIN" -O
got=$(objects "$tmp/auth_objs_login.out")
[[ $got == "cert:01 cert:03 privkey:01 pubkey:01" ]] ||
  fail "-O with login on card 1's auth token lists '$got', expected 'cert:01 cert:03 privkey:01 pubkey:01'" "$tmp/auth_objs_login.out"
ok "-O with login on card 1's auth token: $got"

must auth_read "reading the auth certificate failed" \
  "${P11[@]}" "${A1[@]}" --read-object --type cert --id 01 -o "$tmp/auth_cert.der"
cmp -s "$tmp/auth_cert.der" "$CARD1/auth_cert.der" ||
  fail "certificate id 01 ($(wc -c <"$tmp/auth_cert.der") bytes) differs from card1/auth_cert.der ($(wc -c <"$CARD1/auth_cert.der") bytes)" "$tmp/auth_read.out"
ok "--read-object --type cert --id 01 equals card1/auth_cert.der ($(wc -c <"$CARD1/auth_cert.der") bytes)"

must auth_ca_read "reading the auth CA certificate failed" \
  "${P11[@]}" "${A1[@]}" --read-object --type cert --id 03 -o "$tmp/auth_ca.der"
cmp -s "$tmp/auth_ca.der" "$CARD1/auth_ca.der" || fail "certificate id 03 differs from card1/auth_ca.der" "$tmp/auth_ca_read.out"
ok "--read-object --type cert --id 03 on the auth token equals card1/auth_ca.der"

must auth_pub "openssl cannot take the public key out of the auth certificate read back" \
  openssl x509 -inform DER -in "$tmp/auth_cert.der" -pubkey -noout -out "$tmp/auth_pub.pem"
must auth_pub_der "openssl pkey failed" openssl pkey -pubin -in "$tmp/auth_pub.pem" -outform DER -out "$tmp/auth_pub.der"
must auth_pub_read "reading the auth public key failed" \
  "${P11[@]}" "${A1[@]}" --read-object --type pubkey --id 01 -o "$tmp/auth_pubkey.der"
cmp -s "$tmp/auth_pubkey.der" "$tmp/auth_pub.der" ||
  fail "public key id 01 read back differs from the auth certificate's SubjectPublicKeyInfo" "$tmp/auth_pub_read.out"
ok "--read-object --type pubkey --id 01 equals the auth certificate's SubjectPublicKeyInfo"

must sign_objs_pub "-O on card 1's signature token failed" "${P11[@]}" "${S1[@]}" -O
got=$(objects "$tmp/sign_objs_pub.out")
[[ $got == "cert:04" ]] ||
  fail "-O without login on card 1's signature token lists '$got', expected only the CA certificate 'cert:04'" "$tmp/sign_objs_pub.out"
ok "-O on card 1's signature token (no login): $got"

must sign_objs "-O with login on card 1's signature token failed" \
  "${P11[@]}" "${S1[@]}" --login --pin "$SIGN_PIN" -O
got=$(objects "$tmp/sign_objs.out")
[[ $got == "cert:02 cert:04 privkey:02 pubkey:02" ]] ||
  fail "-O with login on card 1's signature token lists '$got', expected 'cert:02 cert:04 privkey:02 pubkey:02'" "$tmp/sign_objs.out"
ok "-O with login on card 1's signature token: $got"

run sign_read_nologin "${P11[@]}" "${S1[@]}" --read-object --type cert --id 02 -o "$tmp/sign_cert_nologin.der" &&
  fail "--read-object --type cert --id 02 without login succeeded (the signature certificate is private)" "$tmp/sign_read_nologin.out"
ok "--read-object --type cert --id 02 without login fails"

must sign_read "reading the signature certificate failed" \
  "${P11[@]}" "${S1[@]}" --read-object --type cert --id 02 --login --pin "$SIGN_PIN" -o "$tmp/sign_cert.der"
cmp -s "$tmp/sign_cert.der" "$CARD1/sign_cert.der" ||
  fail "certificate id 02 ($(wc -c <"$tmp/sign_cert.der") bytes) differs from card1/sign_cert.der ($(wc -c <"$CARD1/sign_cert.der") bytes)" "$tmp/sign_read.out"
ok "--read-object --type cert --id 02 --login equals card1/sign_cert.der ($(wc -c <"$CARD1/sign_cert.der") bytes)"

must sign_ca_read "reading the signature CA certificate failed" \
  "${P11[@]}" "${S1[@]}" --read-object --type cert --id 04 -o "$tmp/sign_ca.der"
cmp -s "$tmp/sign_ca.der" "$CARD1/sign_ca.der" || fail "certificate id 04 differs from card1/sign_ca.der" "$tmp/sign_ca_read.out"
ok "--read-object --type cert --id 04 on the signature token equals card1/sign_ca.der"

must sign_pub "openssl cannot take the public key out of the signature certificate read back" \
  openssl x509 -inform DER -in "$tmp/sign_cert.der" -pubkey -noout -out "$tmp/sign_pub.pem"
must sign_pub_der "openssl pkey failed" openssl pkey -pubin -in "$tmp/sign_pub.pem" -outform DER -out "$tmp/sign_pub.der"
must sign_pub_read "reading the signature public key failed" \
  "${P11[@]}" "${S1[@]}" --login --pin "$SIGN_PIN" --read-object --type pubkey --id 02 -o "$tmp/sign_pubkey.der"
cmp -s "$tmp/sign_pubkey.der" "$tmp/sign_pub.der" ||
  fail "public key id 02 read back differs from the signature certificate's SubjectPublicKeyInfo" "$tmp/sign_pub_read.out"
ok "--read-object --type pubkey --id 02 --login equals the signature certificate's SubjectPublicKeyInfo"

# ---- 3. signatures: every mechanism, both keys of card 1; 5. locked after each process -------
PSS_OPTS=(--hash-algorithm SHA256 --mgf MGF1-SHA256 --salt-len 32)
PSS_VERIFY=(-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 -pkeyopt digest:sha256 -pkeyopt rsa_mgf1_md:sha256)
traced=0
for kind in auth sign; do
  if [[ $kind == auth ]]; then slot=${SLOT[auth1]} id=01 pin=$AUTH_PIN; else slot=${SLOT[sign1]} id=02 pin=$SIGN_PIN; fi
  pub=$tmp/${kind}_pub.pem
  for mech in RSA-PKCS SHA1-RSA-PKCS SHA224-RSA-PKCS SHA256-RSA-PKCS SHA384-RSA-PKCS SHA512-RSA-PKCS \
    RSA-PKCS-PSS SHA256-RSA-PKCS-PSS; do
    name=sign_${kind}_$mech sig=$tmp/$kind.$mech.sig
    extra=() input=$tmp/data envs=()
    case $mech in
      RSA-PKCS) input=$tmp/data.di ;;
      RSA-PKCS-PSS) input=$tmp/data.sha256 extra=("${PSS_OPTS[@]}") ;;
      # pkcs11-tool 0.23 takes the hash from the mechanism ("--hash-algorithm is applicable only
      # to RSA-PKCS-PSS"); MGF and salt length are still given.
      SHA256-RSA-PKCS-PSS) extra=(--mgf MGF1-SHA256 --salt-len 32) ;;
    esac
    # The module's trace for the SHA256-RSA-PKCS signature with each key (checked in part 7).
    [[ $mech == SHA256-RSA-PKCS ]] && { envs=(env "JPKI_TRACE=$tmp/trace.log"); traced=$((traced + 1)); }
    must "$name" "$mech signature with card 1's $kind key (id $id) failed" \
      "${envs[@]}" "${P11[@]}" --slot "$slot" --login --pin "$pin" --sign --id "$id" -m "$mech" "${extra[@]}" \
      -i "$input" -o "$sig"
    (($(wc -c <"$sig") == 256)) || fail "$mech signature by the $kind key is $(wc -c <"$sig") bytes, not 256" "$tmp/$name.out"
    v=verify_${kind}_$mech
    case $mech in
      RSA-PKCS)
        run "$v" openssl pkeyutl -verify -pubin -inkey "$pub" -pkeyopt rsa_padding_mode:pkcs1 \
          -in "$tmp/data.di" -sigfile "$sig" || fail "RSA-PKCS signature by the $kind key does not verify" "$tmp/$name.out" "$tmp/$v.out"
        { run "${v}_rec" openssl pkeyutl -verifyrecover -pubin -inkey "$pub" -pkeyopt rsa_padding_mode:pkcs1 \
          -in "$sig" -out "$tmp/$kind.recovered" && cmp -s "$tmp/$kind.recovered" "$tmp/data.di"; } ||
          fail "RSA-PKCS signature by the $kind key does not recover the DigestInfo" "$tmp/${v}_rec.out"
        how="pkeyutl -verify (pkcs1) and -verifyrecover gives the 51-byte SHA-256 DigestInfo" ;;
      SHA*-RSA-PKCS)
        md=${mech%%-*}
        md=${md,,}
        run "$v" openssl dgst "-$md" -verify "$pub" -signature "$sig" "$tmp/data" ||
          fail "$mech signature by the $kind key does not verify (openssl dgst -$md)" "$tmp/$name.out" "$tmp/$v.out"
        how="openssl dgst -$md -verify" ;;
      RSA-PKCS-PSS)
        run "$v" openssl pkeyutl -verify -pubin -inkey "$pub" "${PSS_VERIFY[@]}" -in "$tmp/data.sha256" -sigfile "$sig" ||
          fail "RSA-PKCS-PSS signature by the $kind key does not verify" "$tmp/$name.out" "$tmp/$v.out"
        how="pkeyutl -verify pss/sha256/mgf1-sha256/salt 32 over the 32-byte hash" ;;
      SHA256-RSA-PKCS-PSS)
        run "$v" openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
          -sigopt rsa_mgf1_md:sha256 -verify "$pub" -signature "$sig" "$tmp/data" ||
          fail "SHA256-RSA-PKCS-PSS signature by the $kind key does not verify" "$tmp/$name.out" "$tmp/$v.out"
        how="openssl dgst -sha256 -sigopt pss, salt 32" ;;
    esac
    grep -q 'Verified OK\|Signature Verified Successfully' "$tmp/$v.out" ||
      fail "openssl accepted the $mech signature without saying so" "$tmp/$v.out"
    check_locked "the $mech signature with the $kind key"
    ok "$mech by card 1's $kind key (slot $slot, id $id): 256 bytes, $how; card locked afterwards"
  done
done
# The verification itself must be able to fail: one changed byte in the data.
cp "$tmp/data" "$tmp/data.bad"
printf 'X' | dd of="$tmp/data.bad" bs=1 seek=5 conv=notrunc status=none
run verify_bad openssl dgst -sha256 -verify "$tmp/auth_pub.pem" -signature "$tmp/auth.SHA256-RSA-PKCS.sig" "$tmp/data.bad" &&
  fail "openssl verified a signature over changed data: the verification checks prove nothing" "$tmp/verify_bad.out"
ok "control: the SHA256-RSA-PKCS signature does not verify over changed data"

# ---- 4. pkcs11-tool --test -------------------------------------------------------------------
for kind in auth sign; do
  if [[ $kind == auth ]]; then slot=${SLOT[auth1]} pin=$AUTH_PIN; else slot=${SLOT[sign1]} pin=$SIGN_PIN; fi
  must test_$kind "pkcs11-tool --test on card 1's $kind token failed" \
    "${P11[@]}" --test --login --pin "$pin" --slot "$slot"
  grep -q 'No errors' "$tmp/test_$kind.out" || fail "pkcs11-tool --test on the $kind token does not say 'No errors'" "$tmp/test_$kind.out"
  check_locked "pkcs11-tool --test on the $kind token"
  ok "pkcs11-tool --test --login on card 1's $kind token (slot $slot): exit 0, 'No errors'; card locked afterwards"
done

# ---- 6. PIN length and lockout ---------------------------------------------------------------
before=$(verify_count "$LOG1")
if run bad_len "${P11[@]}" "${A1[@]}" --login --pin "$BAD_LEN_PIN" -O; then
  fail "login to card 1's auth token with the 5-digit PIN '$BAD_LEN_PIN' succeeded" "$tmp/bad_len.out"
fi
grep -q 'CKR_PIN_INCORRECT' "$tmp/bad_len.out" || fail "the 5-digit PIN did not fail with CKR_PIN_INCORRECT" "$tmp/bad_len.out"
after=$(verify_count "$LOG1")
((after == before)) || fail "the 5-digit PIN sent $((after - before)) VERIFY with data to card 1" "$LOG1"
must list_len "pkcs11-tool -L after the 5-digit PIN failed" "${P11[@]}" -L
flags=$(slot_field "$tmp/list_len.out" "$JPKI_SIM_READER_1" "$AUTH_LABEL" 6)
has_flag "$flags" "user PIN count low" && fail "the 5-digit PIN cost a try (flags: $flags)" "$tmp/list_len.out"
ok "a 5-digit PIN on card 1's auth token: CKR_PIN_INCORRECT (PKCS#11 lists no other code for C_Login), VERIFY with data in card 1's log $before -> $after, flags still: $flags"

A2=(--slot "${SLOT[auth2]}")
before=$(verify_count "$LOG2")
want_flag=("user PIN count low" "final user PIN try" "user PIN locked")
for i in 1 2 3; do
  if run wrong$i "${P11[@]}" "${A2[@]}" --login --pin "$WRONG_PIN" -O; then
    fail "login to card 2's auth token with the wrong PIN (attempt $i) succeeded" "$tmp/wrong$i.out"
  fi
  # The third try: the card answers 63C0, which is still a wrong PIN (the next one is CKR_PIN_LOCKED).
  grep -q 'CKR_PIN_INCORRECT' "$tmp/wrong$i.out" ||
    fail "wrong PIN on card 2's auth token (attempt $i) did not fail with CKR_PIN_INCORRECT" "$tmp/wrong$i.out"
  must list_w$i "pkcs11-tool -L after wrong PIN $i failed" "${P11[@]}" -L
  flags=$(slot_field "$tmp/list_w$i.out" "$JPKI_SIM_READER_2" "$AUTH_LABEL" 6)
  has_flag "$flags" "${want_flag[i - 1]}" ||
    fail "after $i wrong PIN(s) card 2's auth token lacks '${want_flag[i - 1]}' (flags: $flags)" "$tmp/list_w$i.out"
  # Flags of a later state must not show yet, and a locked PIN has no "final try" left. "count low"
  # may stay with the later ones (PKCS#11: an incorrect PIN was entered since the last success).
  absent=("${want_flag[@]:i}")
  ((i < 3)) || absent=("final user PIN try")
  for f in "${absent[@]}"; do
    has_flag "$flags" "$f" && fail "after $i wrong PIN(s) card 2's auth token also has '$f' (flags: $flags)" "$tmp/list_w$i.out"
  done
  for other in "$JPKI_SIM_READER_2|$SIGN_LABEL" "$JPKI_SIM_READER_1|$AUTH_LABEL" "$JPKI_SIM_READER_1|$SIGN_LABEL"; do
    oflags=$(slot_field "$tmp/list_w$i.out" "${other%|*}" "${other#*|}" 6)
    for f in "${want_flag[@]}"; do
      has_flag "$oflags" "$f" && fail "wrong PINs on card 2's auth token changed '${other#*|}' in '${other%|*}': '$f'" "$tmp/list_w$i.out"
    done
  done
  ok "wrong PIN $i on card 2's auth token: CKR_PIN_INCORRECT; -L flags: $flags"
done
after3=$(verify_count "$LOG2")
((after3 == before + 3)) || fail "three wrong PINs sent $((after3 - before)) VERIFY with data to card 2, expected 3" "$LOG2"
sw=$(grep -E '^00 20 00 ' "$LOG2" | grep -v ' Lc=0 ' | tail -n 3 | awk '{ for (k = 1; k < NF; k++) if ($k == "->") printf "%s%s", (n++ ? " " : ""), $(k + 1) }')
[[ $sw == "63C2 63C1 63C0" ]] || fail "card 2 answered the three wrong PINs '$sw', expected '63C2 63C1 63C0'" "$LOG2"
ok "card 2's APDU log: 3 VERIFY with data for 3 wrong PINs ($before -> $after3), answered $sw"

if run locked_login "${P11[@]}" "${A2[@]}" --login --pin "$AUTH_PIN" -O; then
  fail "login with the right PIN to card 2's locked auth token succeeded" "$tmp/locked_login.out"
fi
grep -q 'CKR_PIN_LOCKED' "$tmp/locked_login.out" ||
  fail "login to card 2's locked auth token did not fail with CKR_PIN_LOCKED" "$tmp/locked_login.out"
after=$(verify_count "$LOG2")
((after == after3)) || fail "the login to the locked token still sent $((after - after3)) VERIFY with data to card 2" "$LOG2"
ok "the right PIN on card 2's locked auth token: CKR_PIN_LOCKED, no new VERIFY with data ($after3 -> $after)"

# ---- 6b. changing a PIN (C_SetPIN) -----------------------------------------------------------
NEW_AUTH_PIN=4711 NEW_SIGN_PIN=NEWSIGN99
change_count() { grep -c '^00 24 ' "$1" || true; }
# change_pin NAME SLOT OLD NEW: pkcs11-tool --change-pin (it opens a read-write session).
change_pin() { run "$1" "${P11[@]}" --slot "$2" --change-pin --pin "$3" --new-pin "$4"; }
for kind in auth sign; do
  if [[ $kind == auth ]]; then
    slot=${SLOT[auth1]} old=$AUTH_PIN new=$NEW_AUTH_PIN malformed=12a4 label=$AUTH_LABEL bit=false
  else
    slot=${SLOT[sign1]} old=$SIGN_PIN new=$NEW_SIGN_PIN malformed=SHORT label=$SIGN_LABEL bit=true
  fi
  v0=$(verify_count "$LOG1") c0=$(change_count "$LOG1")
  if change_pin chg_bad_$kind "$slot" "$old" "$malformed"; then
    fail "pkcs11-tool --change-pin to the malformed PIN '$malformed' on card 1's $kind token succeeded" "$tmp/chg_bad_$kind.out"
  fi
  # pkcs11-tool 0.23 calls C_Login with --pin before C_SetPIN: that one VERIFY is the login's.
  logins=1
  (($(verify_count "$LOG1") == v0 + logins && $(change_count "$LOG1") == c0)) ||
    fail "the malformed new PIN reached card 1 (VERIFY $v0 -> $(verify_count "$LOG1") with $logins login(s), CHANGE $c0 -> $(change_count "$LOG1"))" "$tmp/chg_bad_$kind.out"
  v0=$(verify_count "$LOG1")
  must chg_$kind "pkcs11-tool --change-pin on card 1's $kind token failed" \
    "${P11[@]}" --slot "$slot" --change-pin --pin "$old" --new-pin "$new"
  v1=$(verify_count "$LOG1") c1=$(change_count "$LOG1")
  ((v1 == v0 + logins + 1 && c1 == c0 + 1)) ||
    fail "the change sent $((v1 - v0 - logins)) VERIFY beyond the login and $((c1 - c0)) CHANGE REFERENCE DATA, expected 1 and 1" "$LOG1"
  check_locked "pkcs11-tool --change-pin on the $kind token"
  if run chg_old_$kind "${P11[@]}" --slot "$slot" --login --pin "$old" -O; then
    fail "the old PIN still logs in to card 1's $kind token after the change" "$tmp/chg_old_$kind.out"
  fi
  grep -q 'CKR_PIN_INCORRECT' "$tmp/chg_old_$kind.out" || fail "the old PIN did not fail with CKR_PIN_INCORRECT" "$tmp/chg_old_$kind.out"
  must chg_list_$kind "pkcs11-tool -L after the old PIN failed" "${P11[@]}" -L
  flags=$(slot_field "$tmp/chg_list_$kind.out" "$JPKI_SIM_READER_1" "$label" 6)
  has_flag "$flags" "user PIN count low" || fail "the old PIN's failure does not show as 'count low' (flags: $flags)" "$tmp/chg_list_$kind.out"
  must chg_new_$kind "the new PIN does not log in to card 1's $kind token" "${P11[@]}" --slot "$slot" --login --pin "$new" -O
  # Back to the PIN the other checks use.
  must chg_back_$kind "changing card 1's $kind PIN back failed" \
    "${P11[@]}" --slot "$slot" --change-pin --pin "$new" --new-pin "$old"
  ok "--change-pin on card 1's $kind token: malformed new PIN refused unsent; 1 VERIFY + 1 CHANGE (+$logins login); old PIN CKR_PIN_INCORRECT (one try, flags: $flags), new PIN logs in, changed back"
done

# ---- 7. no PIN in the APDU logs or the module's trace -----------------------------------------
pin_patterns() { # PIN...: each PIN as text (unless it is all zeros: common in hex dumps) and its bytes in hex
  local p hex
  for p in "$@"; do
    hex=$(hexs "$p")
    [[ $p =~ ^0+$ ]] || echo "$p"
    echo "$hex"
    echo "${hex// /}"
  done
}
mapfile -t PATS < <(pin_patterns "$AUTH_PIN" "$SIGN_PIN" "$WRONG_PIN" "$BAD_LEN_PIN" "$NEW_AUTH_PIN" "$NEW_SIGN_PIN")
for i in 1 2; do
  log_var=JPKI_SIM_LOG_$i
  log=${!log_var}
  n=$(grep -c ' data=<redacted> ' "$log" || true)
  ((n > 0)) || fail "card $i's APDU log has no (redacted) VERIFY with data at all: wrong file?" "$log"
  check_absent "card $i's APDU log contains a PIN" "$log" "${PATS[@]}"
  ok "card $i's APDU log ($(wc -l <"$log") lines, $n 'data=<redacted>') never shows a PIN: ${PATS[*]}"
done

T=$tmp/trace.log
{ ((traced == 2)) && [[ -s $T ]]; } || fail "JPKI_TRACE=$T produced no trace" "$T"
grep -q 'C_Login' "$T" || fail "the module's trace has no C_Login line" "$T"
grep -q 'data=<redacted>' "$T" || fail "the module's trace has no 'data=<redacted>' line" "$T"
# The timings ("12.3ms") are the only free-form numbers in the trace: leave them out.
sed -E 's/ [0-9]+\.[0-9]+ms$//' "$T" >"$tmp/trace.notime"
check_absent "the module's trace contains a PIN" "$tmp/trace.notime" "${PATS[@]}"
ok "JPKI_TRACE: $(wc -l <"$T") lines, $(grep -c 'C_Login' "$T") with C_Login, $(grep -c 'data=<redacted>' "$T") with data=<redacted>, no PIN"

finish
