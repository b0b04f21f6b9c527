#!/usr/bin/env bash
# NSS (libnss3-tools 3.87: modutil, certutil, tstclnt) with this project's module, the way
# Firefox uses it: the module registered in a fresh NSS database with modutil, its tokens,
# certificates and key seen through NSS, a login through NSS, and TLS client authentication with
# tstclnt against `openssl s_server -Verify 1 -verify_return_error` on 127.0.0.1, in TLS 1.3
# (RSA-PSS, the card's PSS mode P1=04), TLS 1.2 (NSS picks RSA-PSS there too) and TLS 1.2
# restricted to rsa_pkcs1_sha256 (PKCS#1 v1.5, P1=00), with the nickname given and with NSS
# choosing the certificate itself. Every check also looks at the card's APDU log: the
# certificates were read, the PIN verified, the CertificateVerify signed on the card. Last: a
# wrong PIN is refused by the card, and no PIN ever shows in the APDU log or the module's trace.
#
# Runs inside the harness with one card (CTest does this):
#   test/harness/pcsc-harness.sh --cards 1 --pki build/test-pki --sim build/test/sim/jpki-sim \
#     -- test/integration/nss_test.sh
# Prints one "ok: ..." line per check and "N passed, 0 failed" at the end; the first failing
# check prints what it saw and exits 1. The wrong-PIN check uses one of card 1's three auth PIN
# tries (the login after it resets the counter).
#
# Environment: JPKI_MODULE is the module (default: build/jpki-pkcs11.so of this source tree).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh" # ok, fail, run, must, $tmp, ...
# shellcheck source-path=SCRIPTDIR source=tls_server.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/tls_server.sh" # server_pki, tls_server_start, ...

WRONG_PIN=9876 # not checks.sh's 0000, which hex dumps hold: section 6 looks for its text in the logs
AUTH_TOKEN="JPKI Authentication"
SIGN_TOKEN="JPKI Signature"
CERT_NICK="$AUTH_TOKEN:Authentication Certificate" # NSS nickname: "token:CKA_LABEL"
CA_NICK="$AUTH_TOKEN:Authentication CA Certificate"
SIGN_CA_NICK="$SIGN_TOKEN:Digital Signature CA Certificate"
# The card's answers that prove it did the work (the simulator's APDU log format).
SELECT_AP='00 A4 04 0C Lc=10 -> 9000 len=0' # SELECT of the JPKI AP (AID of 10 bytes)
VERIFY_OK='^00 20 00 98 Lc=4 data=<redacted> -> 9000 len=0$' # auth PIN (reference 98) accepted
SIGN_PSS='80 2A 04 97 Lc=32 -> 9000 len=256'  # RSA-PSS over a SHA-256 hash, auth key
SIGN_PKCS1='80 2A 00 97 Lc=51 -> 9000 len=256' # PKCS#1 v1.5 over a SHA-256 DigestInfo

# verifies FILE: the VERIFY commands with data (PIN tries) in an APDU log, one per line.
verifies() { grep -E '^00 20 00 [0-9A-F]{2} Lc=[1-9]' "$1" || true; }

# login_ok NAME: the APDU log slice NAME.apdu has VERIFY with the auth PIN answered 9000, and
# no VERIFY with data answered otherwise.
login_ok() {
  verifies "$tmp/$1.apdu" >"$tmp/$1.verify"
  grep -qE "$VERIFY_OK" "$tmp/$1.verify" ||
    fail "$1: no '${VERIFY_OK//[\^\$]/}' (auth PIN verified) in the APDU log" "$tmp/$1.apdu"
  grep -qvE "$VERIFY_OK" "$tmp/$1.verify" && fail "$1: a VERIFY with data not answered 9000" "$tmp/$1.verify"
  return 0
}

# no_login NAME: the slice NAME.apdu has no VERIFY with data.
no_login() {
  [[ -z $(verifies "$tmp/$1.apdu") ]] || fail "$1: the card got a VERIFY with data" "$tmp/$1.apdu"
}

# tls NAME S_SERVER_VERSION TSTCLNT_ARGS...: one connection of tstclnt (PIN from a file, the
# request "GET / HTTP/1.0" from a file, module trace in $tmp/NAME.trace) to a fresh s_server.
# tstclnt's output in $tmp/NAME.out (command first), without CRs in $tmp/NAME.txt; the card's
# APDUs in $tmp/NAME.apdu. Sets rc (tstclnt's status).
tls() {
  local name=$1 sver=$2 from
  shift 2
  from=$(apdu_mark)
  tls_server_start "$name" -naccept 1 "$sver"
  rc=0
  run "$name" env JPKI_TRACE="$tmp/$name.trace" tstclnt -h 127.0.0.1 -p "$PORT" -d "sql:$db" \
    -W "$tmp/pin" -A "$tmp/request" "$@" || rc=$?
  tls_server_stop "$name"
  new_apdus "$name" "$from"
  tr -d '\r' <"$tmp/$name.out" >"$tmp/$name.txt"
}

# tls_ok NAME VERSION SIGTYPE SIGN_APDU: the connection NAME worked: tstclnt verified the server
# and ended well with s_server's status page, which says Protocol VERSION (TLSv1.3, TLSv1.2),
# "Verify return code: 0 (ok)", the client signed with SIGTYPE (RSA-PSS, RSA) and SHA-256, and
# shows exactly the card's auth certificate; s_server verified it (card_cert_ok); the card
# verified the PIN and made the signature (SIGN_APDU, the only signature APDU); sets sum.
tls_ok() {
  local name=$1 vers=$2 sigtype=$3 sign=$4 files=("$tmp/$1.out" "$tmp/$1.srv" "$tmp/$1.apdu")
  ((rc == 0)) || fail "$name: tstclnt failed (exit status $rc)" "${files[@]}" "$tmp/$name.trace"
  grep -qx 'HTTP/1.0 200 ok' "$tmp/$name.txt" && grep -q '</HTML>' "$tmp/$name.txt" ||
    fail "$name: no complete status page from s_server" "${files[@]}"
  grep -qx 'subject DN: CN=localhost' "$tmp/$name.txt" ||
    fail "$name: tstclnt does not show the server certificate it verified (CN=localhost)" "${files[@]}"
  card_cert_ok "$name" "$tmp/$name.txt" "$vers" "$sigtype" "${files[@]}"
  login_ok "$name"
  sign_apdus "$name"
  [[ $(<"$tmp/$name.sign") == "$sign" ]] ||
    fail "$name: the card's signature APDUs are not exactly '$sign'" "$tmp/$name.apdu"
  sum="$vers, peer signature $sigtype/SHA256, client certificate CN=$CN (= card1/auth_cert.der) verified by s_server (Verify return code: 0 (ok)); card: $(verifies "$tmp/$name.apdu" | sed 's/ data=<redacted>//' | paste -sd';');$sign"
}

# ---------------------------------------------------------------------------------------------
[[ -n ${JPKI_SIM_LOG_1:-} && -n ${JPKI_PKI_DIR:-} && -n ${JPKI_SIM_READER_1:-} ]] ||
  { echo "nss_test: run me inside test/harness/pcsc-harness.sh --cards 1" >&2; exit 2; }
need_tools modutil certutil tstclnt openssl timeout stdbuf cmp
jpki_module
CARD=$JPKI_PKI_DIR/card1
LOG=$JPKI_SIM_LOG_1
READER=$JPKI_SIM_READER_1
for f in auth_cert.der auth_ca.der serial.txt; do
  [[ -f $CARD/$f ]] || { echo "nss_test: $CARD/$f missing" >&2; exit 2; }
done
SERIAL=$(tr -d ' \r\n' <"$CARD/serial.txt")
db=$tmp/db
mkdir "$db"
printf '%s\n' "$AUTH_PIN" >"$tmp/pin"
printf '%s\n' "$WRONG_PIN" >"$tmp/wrong_pin"
printf 'GET / HTTP/1.0\r\n\r\n' >"$tmp/request"

# ---- 0. a throwaway server PKI, the card's CA and subject ------------------------------------
server_pki "jpki-pkcs11 NSS test CA"
ok "server CA and certificate for CN=localhost, IP:127.0.0.1; the card's auth certificate is '$SUBJECT'"

# ---- 1. a fresh NSS database with the module; its slots and tokens ---------------------------
must newdb "certutil -N failed" certutil -N --empty-password -d "sql:$db"
# -force: no "is the browser running?" prompt.
must add "modutil -add failed" modutil -dbdir "sql:$db" -add jpki -libfile "$MODULE" -force
grep -qx 'Module "jpki" added to database.' "$tmp/add.out" || fail "modutil -add did not say 'Module \"jpki\" added to database.'" "$tmp/add.out"
from=$(apdu_mark)
must list "modutil -list failed" modutil -dbdir "sql:$db" -list
new_apdus list "$from"
# The module's part of the listing: from "N. jpki" to the next module or the end.
awk '/^ *[0-9]+\. / { on = ($2 == "jpki") } /^-----/ { on = 0 } on' "$tmp/list.out" >"$tmp/list.jpki"
grep -qxF $'\t'"library name: $MODULE" "$tmp/list.jpki" || fail "modutil -list: no 'library name: $MODULE' for jpki" "$tmp/list.out"
grep -qxF $'\tstatus: loaded' "$tmp/list.jpki" || fail "modutil -list: module jpki not 'status: loaded'" "$tmp/list.out"
# slot|token|uri, one line per slot with a token.
awk '/^\t slot: / { s = substr($0, 9) } /^\ttoken: / { t = substr($0, 9) }
  /^\t  uri: pkcs11:/ && t != "" { print s "|" t "|" substr($0, 9); t = "" }' "$tmp/list.jpki" >"$tmp/list.tokens"
uri_auth="pkcs11:token=JPKI%20Authentication;manufacturer=J-LIS;serial=$SERIAL;model=My%20Number%20Card"
uri_sign="pkcs11:token=JPKI%20Signature;manufacturer=J-LIS;serial=$SERIAL;model=My%20Number%20Card"
[[ $(<"$tmp/list.tokens") == "$READER|$AUTH_TOKEN|$uri_auth"$'\n'"$READER|$SIGN_TOKEN|$uri_sign" ]] ||
  fail "modutil -list: the tokens of jpki are not exactly '$AUTH_TOKEN' and '$SIGN_TOKEN' (serial $SERIAL) in slot '$READER'" "$tmp/list.tokens" "$tmp/list.jpki"
grep -qxF "$SELECT_AP" "$tmp/list.apdu" || fail "modutil -list did not select the JPKI AP on the card" "$tmp/list.apdu"
no_login list
ok "modutil -add jpki -force, then -list: 'library name: $MODULE', 'status: loaded', slot '$READER' with tokens '$AUTH_TOKEN' ($uri_auth) and '$SIGN_TOKEN'; card: $(grep -c . "$tmp/list.apdu") APDUs, no VERIFY with data"

# ---- 2. the certificates through NSS -----------------------------------------------------------
from=$(apdu_mark)
# No PIN: both tokens say CKF_LOGIN_REQUIRED, so certutil tries to prompt ("Error opening input
# terminal for read" with stdin /dev/null) and lists what the tokens show without login.
must certs "certutil -L -h all failed" certutil -L -d "sql:$db" -h all
new_apdus certs "$from"
for want in "$CERT_NICK +u,u,u" "$CA_NICK +,, *" "$SIGN_CA_NICK +,, *"; do
  grep -qE "^$want\$" "$tmp/certs.out" || fail "certutil -L -h all: no line '$want'" "$tmp/certs.out"
done
grep -qE '^00 B0 ' "$tmp/certs.apdu" || fail "certutil -L: no READ BINARY on the card" "$tmp/certs.apdu"
no_login certs
ok "certutil -L -h all (no PIN): '$CERT_NICK' with trust u,u,u (NSS found its key), '$CA_NICK', '$SIGN_CA_NICK'; card: $(grep -c '^00 B0 ' "$tmp/certs.apdu") READ BINARY, no VERIFY with data"

# A lookup by "token:nickname" on a token that is not "friendly" (modutil -mechanisms FRIENDLY)
# logs in first, and NSS finds nothing if that fails. certutil -L -n does that login without the
# -f password (it prompts on the terminal); with -h TOKEN it logs in to TOKEN with -f first.
for c in "cert|$CERT_NICK|auth_cert.der" "ca|$CA_NICK|auth_ca.der"; do
  IFS='|' read -r name nick der <<<"$c"
  from=$(apdu_mark)
  must "export_$name" "certutil -L -n '$nick' -a failed" certutil -L -d "sql:$db" -h "$AUTH_TOKEN" -f "$tmp/pin" -n "$nick" -a
  new_apdus "export_$name" "$from"
  pem_is "export_$name" "$tmp/export_$name.out" "$CARD/$der" ||
    fail "certutil -L -n '$nick' -a is not card1/$der" "$tmp/export_$name.out"
  login_ok "export_$name"
done
ok "certutil -L -h '$AUTH_TOKEN' -f PINFILE -n '$CERT_NICK' -a = card1/auth_cert.der, '$CA_NICK' = card1/auth_ca.der (each: $(verifies "$tmp/export_ca.apdu" | sed 's/ data=<redacted>//'))"

# ---- 3. login through NSS: the key -----------------------------------------------------------
from=$(apdu_mark)
must keys "certutil -K -h '$AUTH_TOKEN' failed" certutil -K -d "sql:$db" -h "$AUTH_TOKEN" -f "$tmp/pin"
new_apdus keys "$from"
grep -qxF "certutil: Checking token \"$AUTH_TOKEN\" in slot \"$READER\"" "$tmp/keys.out" ||
  fail "certutil -K did not check token '$AUTH_TOKEN' in slot '$READER'" "$tmp/keys.out"
grep -E '^< *[0-9]+>' "$tmp/keys.out" >"$tmp/keys.list" || true
[[ $(wc -l <"$tmp/keys.list") -eq 1 ]] && grep -qE '^< 0> rsa +01 +Authentication Key$' "$tmp/keys.list" ||
  fail "certutil -K: not exactly one key '< 0> rsa 01 Authentication Key'" "$tmp/keys.out"
login_ok keys
ok "certutil -K -h '$AUTH_TOKEN' -f PINFILE: '$(<"$tmp/keys.list")' (key ID 01); card: $(verifies "$tmp/keys.apdu" | sed 's/ data=<redacted>//')"

# ---- 4. TLS client authentication with tstclnt -------------------------------------------------
must trust "certutil -A of the server CA failed" certutil -A -d "sql:$db" -n srvca -t 'CT,,' -i "$tmp/ca.pem"

tls tls13 -tls1_3 -n "$CERT_NICK" -V tls1.3:tls1.3
tls_ok tls13 TLSv1.3 RSA-PSS "$SIGN_PSS"
ok "TLS 1.3, tstclnt -n '$CERT_NICK' -V tls1.3:tls1.3: $sum"

tls tls12 -tls1_2 -n "$CERT_NICK" -V tls1.2:tls1.2
tls_ok tls12 TLSv1.2 RSA-PSS "$SIGN_PSS"
ok "TLS 1.2, tstclnt -V tls1.2:tls1.2 (NSS prefers RSA-PSS here too): $sum"

tls tls12p1 -tls1_2 -n "$CERT_NICK" -V tls1.2:tls1.2 -J rsa_pkcs1_sha256
tls_ok tls12p1 TLSv1.2 RSA "$SIGN_PKCS1"
ok "TLS 1.2, tstclnt -V tls1.2:tls1.2 -J rsa_pkcs1_sha256: $sum"

# No -n: NSS picks the client certificate itself (NSS_GetClientAuthData, as Firefox's
# "select one automatically").
tls tls13auto -tls1_3 -V tls1.3:tls1.3
tls_ok tls13auto TLSv1.3 RSA-PSS "$SIGN_PSS"
ok "TLS 1.3, tstclnt without -n (NSS chooses the certificate): $sum"

# ---- 5. a wrong PIN is refused by the card ------------------------------------------------------
from=$(apdu_mark)
if run wrong certutil -K -d "sql:$db" -h "$AUTH_TOKEN" -f "$tmp/wrong_pin"; then
  fail "certutil -K with a wrong PIN succeeded" "$tmp/wrong.out"
fi
new_apdus wrong "$from"
grep -q 'SEC_ERROR_BAD_PASSWORD' "$tmp/wrong.out" || fail "certutil -K with a wrong PIN: no SEC_ERROR_BAD_PASSWORD" "$tmp/wrong.out"
grep -qE '^<' "$tmp/wrong.out" && fail "certutil -K with a wrong PIN listed a key" "$tmp/wrong.out"
[[ $(verifies "$tmp/wrong.apdu") == '00 20 00 98 Lc=4 data=<redacted> -> 63C2 len=0' ]] ||
  fail "certutil -K with a wrong PIN: not exactly one VERIFY with data answered 63C2" "$tmp/wrong.apdu"
from=$(apdu_mark)
must relogin "certutil -K with the right PIN after a wrong one failed" certutil -K -d "sql:$db" -h "$AUTH_TOKEN" -f "$tmp/pin"
new_apdus relogin "$from"
login_ok relogin
ok "certutil -K -f <wrong PIN>: '$(grep -m1 SEC_ERROR_BAD_PASSWORD "$tmp/wrong.out")', card: $(verifies "$tmp/wrong.apdu" | sed 's/ data=<redacted>//'); the right PIN afterwards: $(verifies "$tmp/relogin.apdu" | sed 's/ data=<redacted>//')"

# ---- 5b. changing the PIN: modutil -changepw ----------------------------------------------------
NEW_PIN=4711
printf '%s\n' "$NEW_PIN" >"$tmp/new_pin"
printf '%s\n' 12a4 >"$tmp/malformed_pin"
# change NAME OLDFILE NEWFILE: modutil -changepw of the authentication token.
change() { run "$1" modutil -dbdir "sql:$db" -changepw "$AUTH_TOKEN" -pwfile "$2" -newpwfile "$3" -force; }
from=$(apdu_mark)
if change chg_bad "$tmp/pin" "$tmp/malformed_pin"; then
  fail "modutil -changepw to the malformed PIN 12a4 succeeded" "$tmp/chg_bad.out"
fi
new_apdus chg_bad "$from"
grep -q '^00 24 ' "$tmp/chg_bad.apdu" && fail "modutil -changepw sent the malformed PIN to the card" "$tmp/chg_bad.apdu"
from=$(apdu_mark)
change chg "$tmp/pin" "$tmp/new_pin" || fail "modutil -changepw '$AUTH_TOKEN' failed" "$tmp/chg.out"
new_apdus chg "$from"
grep -qx '00 24 01 80 Lc=4 data=<redacted> -> 9000 len=0' "$tmp/chg.apdu" ||
  fail "modutil -changepw: no CHANGE REFERENCE DATA answered 9000 on the card" "$tmp/chg.apdu"
(($(grep -c '^00 24 ' "$tmp/chg.apdu") == 1)) || fail "modutil -changepw: not exactly one CHANGE REFERENCE DATA" "$tmp/chg.apdu"
login_ok chg
from=$(apdu_mark)
if run chg_old certutil -K -d "sql:$db" -h "$AUTH_TOKEN" -f "$tmp/pin"; then
  fail "the old PIN still works after modutil -changepw" "$tmp/chg_old.out"
fi
new_apdus chg_old "$from"
[[ $(verifies "$tmp/chg_old.apdu") == '00 20 00 98 Lc=4 data=<redacted> -> 63C2 len=0' ]] ||
  fail "the old PIN after the change: not exactly one VERIFY answered 63C2" "$tmp/chg_old.apdu"
must chg_new "the new PIN does not work after modutil -changepw" certutil -K -d "sql:$db" -h "$AUTH_TOKEN" -f "$tmp/new_pin"
change chg_back "$tmp/new_pin" "$tmp/pin" || fail "modutil -changepw back to the first PIN failed" "$tmp/chg_back.out"
ok "modutil -changepw '$AUTH_TOKEN': malformed new PIN never sent; one VERIFY + one CHANGE REFERENCE DATA (9000); the old PIN then costs one try (63C2), the new one works; changed back"

# ---- 6. no PIN in the APDU log or the module's trace -------------------------------------------
pats=()
for p in "$AUTH_PIN" "$WRONG_PIN" "$NEW_PIN"; do
  hex=$(hexs "$p")
  pats+=("$p" "$hex" "${hex// /}")
done
n=$(grep -c ' data=<redacted> ' "$LOG" || true)
((n > 0)) || fail "card 1's APDU log has no (redacted) VERIFY with data at all: wrong file?" "$LOG"
check_absent "card 1's APDU log contains a PIN" "$LOG" "${pats[@]}"
# The timings ("12.3ms") are the only free-form numbers in the trace: leave them out.
for t in tls13 tls12 tls12p1 tls13auto; do
  [[ -s $tmp/$t.trace ]] || fail "JPKI_TRACE=$tmp/$t.trace produced no trace" "$tmp/$t.out"
  grep -q 'C_Login' "$tmp/$t.trace" || fail "the module's trace of $t has no C_Login" "$tmp/$t.trace"
  # NSS takes the PKCS#11 3.0 interface when the module offers one, and never the 2.40 list.
  grep -q '^jpki: C_GetInterface -> CKR_OK: PKCS 11 3.0$' "$tmp/$t.trace" && ! grep -q 'C_GetFunctionList' "$tmp/$t.trace" ||
    fail "tstclnt ($t) did not load the module through C_GetInterface's PKCS 11 3.0 list only" "$tmp/$t.trace"
  sed -E 's/ [0-9]+\.[0-9]+ms$//' "$tmp/$t.trace" >>"$tmp/traces.notime"
done
check_absent "the module's traces of the TLS connections contain a PIN" "$tmp/traces.notime" "${pats[@]}"
ok "tstclnt loaded the module through C_GetInterface (PKCS 11 3.0) in all 4 TLS connections; card 1's APDU log ($(wc -l <"$LOG") lines, $n 'data=<redacted>') and the module's traces of the 4 TLS connections ($(wc -l <"$tmp/traces.notime") lines) never show a PIN: ${pats[*]}"

finish
