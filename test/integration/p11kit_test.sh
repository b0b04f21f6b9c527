#!/usr/bin/env bash
# p11-kit with this project's module, through the real stack (p11-kit / GnuTLS / p11-kit server
# -> jpki-pkcs11.so -> libpcsclite -> private pcscd -> vpcd -> jpki-sim), with one card:
#   1. registration: conf/jpki-pkcs11.module (its module: line made the absolute path of
#      $JPKI_MODULE) in a private directory bind-mounted over p11-kit's module-config directory
#      (and an empty one over /etc/pkcs11/modules, if that exists). The bind mount lives in the
#      harness's private mount namespace only: the system's registrations are hidden from this
#      test and the system never sees this one (checked through an ancestor process outside the
#      namespace). `p11-kit list-modules` shows the module, alone, with both tokens.
#   2. GnuTLS' p11tool through p11-kit's proxy: both tokens with pkcs11: URLs, the certificates,
#      --export equal to the card's files, --test-sign with both keys (the signature key with its
#      context-specific login) answered on the card (80 2A -> 9000 in the APDU log).
#   3. p11-kit remoting: `p11-kit server --provider $JPKI_MODULE` exports the auth token on a unix
#      socket; pkcs11-tool with p11-kit-client.so on the "other side" lists it, reads the
#      certificate back and signs; openssl verifies the signature with that certificate. The
#      server is stopped with `p11-kit server -k`, after which the client sees no slot.
#
# Runs inside the harness with one card (CTest does this):
#   test/harness/pcsc-harness.sh --cards 1 --pki build/test-pki --sim build/test/sim/jpki-sim \
#     -- env JPKI_MODULE=build/jpki-pkcs11.so test/integration/p11kit_test.sh
# Needs root (bind mounts; p11-kit then ignores per-user configs anyway). Prints one "ok: ..."
# line per check and "N passed, 0 failed" at the end; the first failing check prints what it saw
# and exits 1.
#
# Environment: JPKI_MODULE is the module (default: build/jpki-pkcs11.so of this source tree).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"

AUTH_TOKEN='pkcs11:token=JPKI%20Authentication'
SIGN_TOKEN='pkcs11:token=JPKI%20Signature'
SERVER_WAIT=100 # tenths of a second to wait for p11-kit server to listen / to exit

mounts=()      # mount points this script bind-mounted over, in order
server_pid=""
cleanup_extra() {
  local m
  if [[ -n $server_pid ]] && alive "$server_pid"; then
    kill -TERM "$server_pid" 2>/dev/null
    for ((m = 0; m < 50; m++)); do alive "$server_pid" || break; sleep 0.1; done
    alive "$server_pid" && kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  for ((m = ${#mounts[@]} - 1; m >= 0; m--)); do
    umount "${mounts[m]}" 2>/dev/null || umount -l "${mounts[m]}" 2>/dev/null || true
  done
  return 0
}

# alive PID: running and not a zombie.
alive() {
  local st
  [[ -n $1 && -r /proc/$1/stat ]] || return 1
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $st && $st != Z ]]
}

# ppid_of PID: its parent (the comm field of /proc/PID/stat may hold spaces and parentheses).
ppid_of() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2; }

# dir_state DIR: names, sizes, modes, mtimes and SHA-256 of DIR's entries (a fingerprint).
dir_state() {
  [[ -d $1 ]] || { echo "(no directory $1)"; return 0; }
  (cd "$1" && find . -mindepth 1 -maxdepth 1 -printf '%P %y %s %m %T@\n' | LC_ALL=C sort &&
    find . -mindepth 1 -maxdepth 1 -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# card_signed NAME P2: $tmp/NAME.apdu has COMPUTE DIGITAL SIGNATURE(s), all with key P2 (97 auth,
# 9A signature) and answered 9000; SIGNS = how many.
SIGNS=0
card_signed() {
  local name=$1 p2=$2
  sign_apdus "$name"
  SIGNS=$(wc -l <"$tmp/$name.sign")
  ((SIGNS >= 1)) || fail "$name: no COMPUTE DIGITAL SIGNATURE (80 2A) in card 1's APDU log" "$tmp/$name.apdu"
  grep -vqE "^80 2A 00 $p2 .* -> 9000( |$)" "$tmp/$name.sign" &&
    fail "$name: a signature APDU that is not '80 2A 00 $p2 ... -> 9000'" "$tmp/$name.sign"
  return 0
}

# p11tool_blocks FILE KEY...: p11tool's "Token N:" / "Object N:" blocks in FILE, one line per
# block: the values of KEY... ("URL", "Label", ...) joined with "|".
p11tool_blocks() {
  local f=$1
  shift
  awk -v keys="$*" '
    BEGIN { nk = split(keys, k, " ") }
    function flush() { if (inb) { line = ""; for (i = 1; i <= nk; i++) line = line (i > 1 ? "|" : "") v[k[i]]; print line }; delete v; inb = 0 }
    /^(Token|Object) [0-9]+:/ { flush(); inb = 1; next }
    inb && /^\t[^:]+: / { n = index($0, ": "); key = substr($0, 2, n - 2); val = substr($0, n + 2); sub(/[ ;]+$/, "", val); v[key] = val }
    END { flush() }' "$f"
}

# ---------------------------------------------------------------------------------------------
[[ ${JPKI_SIM_COUNT:-0} -ge 1 && -n ${JPKI_SIM_LOG_1:-} && -n ${JPKI_PKI_DIR:-} ]] ||
  { echo "p11kit_test: run me inside test/harness/pcsc-harness.sh --cards 1" >&2; exit 2; }
((EUID == 0)) || { echo "p11kit_test: needs root (bind mounts in the harness's namespace)" >&2; exit 77; }
need_tools p11-kit p11tool pkcs11-tool openssl mount umount setpriv timeout cmp awk sha256sum
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
jpki_module
MODULE=$(readlink -f "$MODULE") # the .module file and p11-kit server need an absolute path
MODULE_CONF=$here/../../conf/jpki-pkcs11.module
CARD1=$JPKI_PKI_DIR/card1
LOG=$JPKI_SIM_LOG_1
for f in "$MODULE_CONF" "$CARD1/auth_cert.der" "$CARD1/auth_ca.der" "$CARD1/sign_cert.der" "$CARD1/serial.txt"; do
  [[ -f $f ]] || { echo "p11kit_test: $f missing" >&2; exit 2; }
done
SERIAL=$(tr -d ' \r\n' <"$CARD1/serial.txt")
# p11-kit's directories (compiled into libp11-kit; pkg-config reports the same paths).
pc() { pkg-config --variable="$1" p11-kit-1 2>/dev/null || true; }
PKG_MODULES=$(pc p11_module_configs)
PKG_MODULES=${PKG_MODULES:-/usr/share/p11-kit/modules}
# (pkg-config's p11_system_config_modules is a compatibility alias of p11_module_configs; the
# system config directory p11-kit reads is SYSCONFDIR/pkcs11.)
SYSCONF=$(pc sysconfdir)
SYS_MODULES=${SYSCONF:-/etc}/pkcs11/modules
SYS_CONF=${SYSCONF:-/etc}/pkcs11/pkcs11.conf
MODULE_PATH=$(pc p11_module_path)
CLIENT=${MODULE_PATH:-/usr/lib/x86_64-linux-gnu/pkcs11}/p11-kit-client.so
[[ -f $CLIENT ]] || { echo "p11kit_test: $CLIENT missing (package p11-kit-modules)" >&2; exit 77; }
[[ -d $PKG_MODULES ]] || { echo "p11kit_test: p11-kit's module-config directory $PKG_MODULES missing" >&2; exit 77; }
# Root ignores ~/.config/pkcs11 anyway; this also covers a future non-root run.
export P11_KIT_NO_USER_CONFIG=1

# ---- 1. private registration -----------------------------------------------------------------
# Bind mounts are only acceptable in a mount namespace of our own with private propagation: find
# an ancestor outside it (the harness's caller), through which the host's view stays visible.
my_ns=$(readlink /proc/self/ns/mnt)
host_pid="" p=$$
while [[ -n $p && $p -gt 1 ]]; do
  ns=$(readlink "/proc/$p/ns/mnt" 2>/dev/null) || break
  if [[ $ns != "$my_ns" ]]; then host_pid=$p; break; fi
  p=$(ppid_of "$p")
done
[[ -n $host_pid ]] ||
  fail "no ancestor process in another mount namespace: not inside the harness's private namespace, refusing to bind-mount over $PKG_MODULES"
host_ns=$(readlink "/proc/$host_pid/ns/mnt")
HOST_VIEW=/proc/$host_pid/root
ok "private mount namespace: this test in $my_ns, ancestor $host_pid ($(cat "/proc/$host_pid/comm")) in $host_ns"

host_before=$(dir_state "$HOST_VIEW$PKG_MODULES")
own_before=$(dir_state "$PKG_MODULES")
[[ $host_before == "$own_before" ]] ||
  fail "before any mount, $PKG_MODULES differs between this namespace and the host's (a leftover mount?)"

mkdir "$tmp/modules" "$tmp/sysmodules"
sed "s|^module:.*|module: $MODULE|" "$MODULE_CONF" >"$tmp/modules/jpki-pkcs11.module"
changed=$(diff "$MODULE_CONF" "$tmp/modules/jpki-pkcs11.module" | grep -c '^[<>]' || true)
{ ((changed == 2)) && grep -qx "module: $MODULE" "$tmp/modules/jpki-pkcs11.module"; } ||
  fail "could not rewrite the one module: line of conf/jpki-pkcs11.module" "$tmp/modules/jpki-pkcs11.module"
ok "module config: conf/jpki-pkcs11.module with 'module: $MODULE' (the only line changed); $(grep -v '^#' "$tmp/modules/jpki-pkcs11.module" | grep -v "^module:" | paste -sd ' ' -)"

bind() { # SRC TARGET
  mount --bind "$1" "$2" || fail "mount --bind $1 $2 failed"
  mounts+=("$2")
}
bind "$tmp/modules" "$PKG_MODULES"
hidden="$PKG_MODULES"
if [[ -d $SYS_MODULES ]]; then bind "$tmp/sysmodules" "$SYS_MODULES"; hidden+=" $SYS_MODULES"; fi
if [[ -f $SYS_CONF ]]; then
  printf '# p11kit_test: private copy\nuser-config: none\n' >"$tmp/pkcs11.conf"
  bind "$tmp/pkcs11.conf" "$SYS_CONF"
  hidden+=" $SYS_CONF"
fi
# No "shared:" peer group on our mounts: nothing propagates out of this namespace.
for m in "${mounts[@]}"; do
  line=$(awk -v m="$m" '$5 == m' /proc/self/mountinfo | tail -n 1)
  [[ -n $line ]] || fail "the bind mount over $m is not in /proc/self/mountinfo"
  [[ $line != *" shared:"* ]] || fail "the bind mount over $m is shared (would propagate): $line"
done
[[ $(dir_state "$HOST_VIEW$PKG_MODULES") == "$host_before" ]] ||
  fail "the bind mount over $PKG_MODULES is visible outside this namespace (through /proc/$host_pid/root)"
got=$(ls "$PKG_MODULES" | paste -sd ' ' -)
[[ $got == jpki-pkcs11.module ]] || fail "$PKG_MODULES shows '$got' after the bind mount"
ok "bind-mounted over $hidden (private, no shared peer group); here $PKG_MODULES holds only '$got', the host's view (/proc/$host_pid/root) still: $(ls "$HOST_VIEW$PKG_MODULES" | paste -sd ' ' -)"

# Which config files p11-kit reads: only ours (P11_KIT_DEBUG=conf logs each file to stderr).
must conf_debug "p11-kit list-modules with P11_KIT_DEBUG=conf failed" env P11_KIT_DEBUG=conf p11-kit list-modules
read_files=$(sed -n 's/.*_p11_conf_parse_file: reading config file: //p' "$tmp/conf_debug.out" | grep '\.module$' | paste -sd ' ' - || true)
[[ $read_files == "$PKG_MODULES/jpki-pkcs11.module" ]] ||
  fail "p11-kit read the module configs '$read_files', expected only $PKG_MODULES/jpki-pkcs11.module" "$tmp/conf_debug.out"
user_note=$(grep -oE '(skipping user config|user config disabled).*' "$tmp/conf_debug.out" | head -n 1 || true)
ok "P11_KIT_DEBUG=conf: the only module config p11-kit reads is $read_files${user_note:+; '$user_note'}"

must list_modules "p11-kit list-modules failed" p11-kit list-modules
got=$(modules "$tmp/list_modules.out" | paste -sd ' ' -)
[[ $got == "jpki-pkcs11|$MODULE" ]] ||
  fail "p11-kit list-modules shows modules '$got', expected only 'jpki-pkcs11|$MODULE'" "$tmp/list_modules.out"
desc=$(sed -n 's/^    library-description: //p' "$tmp/list_modules.out")
module_tokens "$tmp/list_modules.out" >"$tmp/list_modules.tokens"
n=$(wc -l <"$tmp/list_modules.tokens")
((n == 2)) || fail "p11-kit list-modules shows $n tokens, expected 2" "$tmp/list_modules.out"
for label in "JPKI Authentication" "JPKI Signature"; do
  line=$(awk -F '|' -v l="$label" '$1 == l' "$tmp/list_modules.tokens")
  IFS='|' read -r _ manuf model serial flags <<<"$line"
  [[ -n $line && $manuf == J-LIS && $serial == "$SERIAL" ]] ||
    fail "p11-kit list-modules: token '$label' is '$line', expected manufacturer J-LIS, serial $SERIAL (card1/serial.txt)" "$tmp/list_modules.out"
  for f in login-required token-initialized user-pin-initialized; do
    has_flag "$flags" "$f" || fail "p11-kit list-modules: token '$label' lacks flag $f (flags: $flags)" "$tmp/list_modules.out"
  done
  ok "p11-kit list-modules: 'jpki-pkcs11: $MODULE' ($desc), token '$label', manufacturer $manuf, model $model, serial $serial, flags $flags"
done

# ---- 2. p11tool (GnuTLS through p11-kit's proxy) ----------------------------------------------
must tokens "p11tool --list-tokens failed" p11tool --list-tokens
p11tool_blocks "$tmp/tokens.out" Label URL Manufacturer Serial Module >"$tmp/tokens.list"
n=$(wc -l <"$tmp/tokens.list")
((n == 2)) || fail "p11tool --list-tokens shows $n tokens, expected only the card's 2 (no other module's)" "$tmp/tokens.out"
for spec in "JPKI Authentication|$AUTH_TOKEN" "JPKI Signature|$SIGN_TOKEN"; do
  label=${spec%%|*} want=${spec#*|}
  IFS='|' read -r _ url manuf serial module <<<"$(awk -F '|' -v l="$label" '$1 == l' "$tmp/tokens.list")"
  [[ $url == pkcs11:* && $url == *";${want#pkcs11:}"* && $url == *"serial=$SERIAL"* ]] ||
    fail "p11tool --list-tokens: token '$label' has URL '$url', expected a pkcs11: URL with ${want#pkcs11:} and serial=$SERIAL" "$tmp/tokens.out"
  [[ $manuf == J-LIS && $serial == "$SERIAL" && $module == "$MODULE" ]] ||
    fail "p11tool --list-tokens: token '$label': manufacturer '$manuf', serial '$serial', module '$module'" "$tmp/tokens.out"
  ok "p11tool --list-tokens: '$label' URL: $url (Module: $module)"
done

must auth_certs "p11tool --list-all-certs on the auth token failed" p11tool --list-all-certs "$AUTH_TOKEN"
got=$(p11tool_blocks "$tmp/auth_certs.out" ID Label Flags | LC_ALL=C sort | paste -sd ';' -)
[[ $got == "01|Authentication Certificate|;03|Authentication CA Certificate|CKA_CERTIFICATE_CATEGORY=CA" ]] ||
  fail "p11tool --list-all-certs '$AUTH_TOKEN' lists '$got'" "$tmp/auth_certs.out"
ok "p11tool --list-all-certs '$AUTH_TOKEN': ID|Label|Flags = $got"

must sign_certs "p11tool --list-all-certs on the signature token failed" p11tool --list-all-certs "$SIGN_TOKEN"
got=$(p11tool_blocks "$tmp/sign_certs.out" ID Label | LC_ALL=C sort | paste -sd ';' -)
[[ $got == "04|Digital Signature CA Certificate" ]] ||
  fail "p11tool --list-all-certs '$SIGN_TOKEN' without login lists '$got', expected only the CA certificate" "$tmp/sign_certs.out"
must sign_certs_login "p11tool --login --list-all-certs on the signature token failed" \
  env GNUTLS_PIN="$SIGN_PIN" p11tool --login --list-all-certs "$SIGN_TOKEN"
got2=$(p11tool_blocks "$tmp/sign_certs_login.out" ID Label | LC_ALL=C sort | paste -sd ';' -)
[[ $got2 == "02|Digital Signature Certificate;04|Digital Signature CA Certificate" ]] ||
  fail "p11tool --login --list-all-certs '$SIGN_TOKEN' lists '$got2'" "$tmp/sign_certs_login.out"
ok "p11tool --list-all-certs '$SIGN_TOKEN': '$got' without login, '$got2' with --login"

for spec in "auth_cert|$AUTH_TOKEN;object=Authentication%20Certificate;type=cert|auth_cert.der|" \
  "auth_ca|$AUTH_TOKEN;id=%03;type=cert|auth_ca.der|" \
  "sign_cert|$SIGN_TOKEN;object=Digital%20Signature%20Certificate;type=cert|sign_cert.der|login"; do
  IFS='|' read -r name url der login <<<"$spec"
  if [[ -n $login ]]; then
    must "export_$name" "p11tool --login --export '$url' failed" env GNUTLS_PIN="$SIGN_PIN" p11tool --login --export "$url"
  else
    must "export_$name" "p11tool --export '$url' failed" p11tool --export "$url"
  fi
  pem_is "export_$name" "$tmp/export_$name.out" "$CARD1/$der" ||
    fail "p11tool --export '$url' is not card1/$der" "$tmp/export_$name.out"
  ok "p11tool ${login:+--login }--export '$url' (PEM -> DER) equals card1/$der ($(wc -c <"$CARD1/$der") bytes)"
done

TEST_SIGN_LINES=("Signing using RSA-SHA256... ok" "Verifying against private key parameters... ok"
  "Verifying against public key in the token... ok")
for spec in "auth|$AUTH_TOKEN;object=Authentication%20Key|$AUTH_PIN|97" \
  "sign|$SIGN_TOKEN;object=Digital%20Signature%20Key|$SIGN_PIN|9A"; do
  IFS='|' read -r kind url pin p2 <<<"$spec"
  before=$(apdu_mark)
  must "test_sign_$kind" "p11tool --login --test-sign with the $kind key failed" \
    env GNUTLS_PIN="$pin" p11tool --login --test-sign "$url"
  for l in "${TEST_SIGN_LINES[@]}"; do
    grep -qxF "$l" "$tmp/test_sign_$kind.out" || fail "p11tool --test-sign ($kind) does not say '$l'" "$tmp/test_sign_$kind.out"
  done
  new_apdus "test_sign_$kind" "$before"
  card_signed "test_sign_$kind" "$p2"
  extra=""
  if [[ $kind == sign ]]; then
    # CKA_ALWAYS_AUTHENTICATE: p11tool's context-specific login right before the signature.
    prev=$(grep -vE "$PROBES_RE" "$tmp/test_sign_$kind.apdu" | grep -B1 -E '^80 2A ' | head -n 1 || true)
    [[ $prev == "00 20 00 9B Lc=8 data=<redacted> -> 9000"* ]] ||
      fail "p11tool --test-sign (sign): the APDU before the signature is '$prev', expected the context-specific VERIFY 00 20 00 9B with the PIN" "$tmp/test_sign_$kind.apdu"
    extra=", preceded by '${prev%% len=*}' (context-specific login)"
  fi
  ok "GNUTLS_PIN=... p11tool --login --test-sign '$url': '${TEST_SIGN_LINES[*]}'; card 1's log: $SIGNS x '$(head -n 1 "$tmp/test_sign_$kind.sign")'$extra"
done

# ---- 3. p11-kit server and p11-kit-client.so ----------------------------------------------------
SOCK=$tmp/p11kit.sock
# setpriv --pdeathsig: should this script be killed, the server does not outlive it.
setpriv --pdeathsig TERM -- p11-kit server --foreground --name "$SOCK" --provider "$MODULE" "$AUTH_TOKEN" \
  >"$tmp/server.out" 2>&1 </dev/null &
server_pid=$!
for ((k = 0; k < SERVER_WAIT; k++)); do
  [[ -S $SOCK ]] && grep -q '^P11_KIT_SERVER_PID=' "$tmp/server.out" && break
  alive "$server_pid" || fail "p11-kit server exited at start" "$tmp/server.out"
  sleep 0.1
done
[[ -S $SOCK ]] || fail "p11-kit server did not create $SOCK within $((SERVER_WAIT / 10)) s" "$tmp/server.out"
ADDRESS=$(sed -n 's/^P11_KIT_SERVER_ADDRESS=\([^;]*\);.*/\1/p' "$tmp/server.out")
SPID=$(sed -n 's/^P11_KIT_SERVER_PID=\([0-9]*\);.*/\1/p' "$tmp/server.out")
[[ $ADDRESS == "unix:path=$SOCK" && $SPID == "$server_pid" ]] ||
  fail "p11-kit server printed address '$ADDRESS' pid '$SPID', expected unix:path=$SOCK and $server_pid" "$tmp/server.out"
ok "p11-kit server --foreground --name \$tmp/p11kit.sock --provider $MODULE '$AUTH_TOKEN': pid $SPID, prints 'P11_KIT_SERVER_ADDRESS=$ADDRESS'"

RP11=(env "P11_KIT_SERVER_ADDRESS=$ADDRESS" pkcs11-tool --module "$CLIENT")
must remote_list "pkcs11-tool -L through p11-kit-client.so failed" "${RP11[@]}" -L
slots "$tmp/remote_list.out" >"$tmp/remote_list.slots"
got=$(cut -f2-4 "$tmp/remote_list.slots" | paste -sd ';' -)
[[ $got == "$JPKI_SIM_READER_1"$'\t'"JPKI Authentication"$'\t'"$SERIAL" ]] ||
  fail "pkcs11-tool -L through the client lists '$got', expected only the auth token in '$JPKI_SIM_READER_1', serial $SERIAL" "$tmp/remote_list.out"
ok "remote pkcs11-tool --module ${CLIENT##*/} -L: one slot '$JPKI_SIM_READER_1' (card 1's reader), token 'JPKI Authentication', serial $SERIAL; no signature token (not exported)"

must remote_objs "pkcs11-tool -O through the client failed" "${RP11[@]}" -O
got=$(objects "$tmp/remote_objs.out")
[[ $got == "cert:01 cert:03 pubkey:01" ]] || fail "pkcs11-tool -O through the client lists '$got'" "$tmp/remote_objs.out"
ok "remote pkcs11-tool -O: $got"

must remote_read "pkcs11-tool --read-object through the client failed" \
  "${RP11[@]}" --read-object --type cert --id 01 -o "$tmp/remote_cert.der"
cmp -s "$tmp/remote_cert.der" "$CARD1/auth_cert.der" ||
  fail "the certificate id 01 read through the client is not card1/auth_cert.der" "$tmp/remote_read.out"
must remote_pub "openssl cannot take the public key out of the certificate read back" \
  openssl x509 -inform DER -in "$tmp/remote_cert.der" -pubkey -noout -out "$tmp/remote_pub.pem"
ok "remote pkcs11-tool --read-object --type cert --id 01 equals card1/auth_cert.der"

printf 'jpki-pkcs11 p11-kit remoting test %s\n' "$(date -u +%FT%TZ)" >"$tmp/data"
head -c 2000 /dev/urandom >>"$tmp/data"
before=$(apdu_mark)
must remote_sign "signing through the client failed" \
  "${RP11[@]}" --login --pin "$AUTH_PIN" --sign --id 01 -m SHA256-RSA-PKCS -i "$tmp/data" -o "$tmp/remote.sig"
(($(wc -c <"$tmp/remote.sig") == 256)) || fail "the signature through the client is $(wc -c <"$tmp/remote.sig") bytes, not 256" "$tmp/remote_sign.out"
must remote_verify "openssl does not verify the signature made through the client" \
  openssl dgst -sha256 -verify "$tmp/remote_pub.pem" -signature "$tmp/remote.sig" "$tmp/data"
grep -qx 'Verified OK' "$tmp/remote_verify.out" || fail "openssl accepted the signature without saying 'Verified OK'" "$tmp/remote_verify.out"
new_apdus remote_sign "$before"
card_signed remote_sign 97
cp "$tmp/data" "$tmp/data.bad"
printf 'X' | dd of="$tmp/data.bad" bs=1 seek=3 conv=notrunc status=none
run remote_verify_bad openssl dgst -sha256 -verify "$tmp/remote_pub.pem" -signature "$tmp/remote.sig" "$tmp/data.bad" &&
  fail "openssl verified the signature over changed data: the verification proves nothing" "$tmp/remote_verify_bad.out"
ok "remote pkcs11-tool --login --sign --id 01 -m SHA256-RSA-PKCS: 256 bytes, 'Verified OK' by openssl dgst -sha256 with the certificate read back (not over changed data); card 1's log: $SIGNS x '$(head -n 1 "$tmp/remote_sign.sign")'"

# Stop the server the documented way (p11-kit server -k reads P11_KIT_SERVER_PID).
must server_kill "p11-kit server -k failed" env "P11_KIT_SERVER_PID=$SPID" p11-kit server -k
for ((k = 0; k < SERVER_WAIT; k++)); do alive "$server_pid" || break; sleep 0.1; done
alive "$server_pid" && fail "p11-kit server (pid $server_pid) still runs $((SERVER_WAIT / 10)) s after p11-kit server -k" "$tmp/server.out"
rc=0
wait "$server_pid" || rc=$?
server_pid=""
[[ ! -e $SOCK ]] || fail "p11-kit server left its socket $SOCK behind" "$tmp/server.out"
run remote_gone "${RP11[@]}" -L || true
grep -q 'No slots' "$tmp/remote_gone.out" && ! grep -q 'JPKI' "$tmp/remote_gone.out" ||
  fail "with the server stopped, pkcs11-tool through the client still lists something" "$tmp/remote_gone.out"
ok "p11-kit server -k: server gone (exit status $rc), socket removed; the client then says 'No slots'"

# ---- the system is untouched ---------------------------------------------------------------
cleanup_extra
mounts=()
[[ $(dir_state "$PKG_MODULES") == "$own_before" ]] ||
  fail "after umount, $PKG_MODULES here is not as before"
[[ $(dir_state "$HOST_VIEW$PKG_MODULES") == "$host_before" ]] ||
  fail "the host's $PKG_MODULES changed during the test"
ok "unmounted: $PKG_MODULES is back to '$(ls "$PKG_MODULES" | paste -sd ' ' -)' here, the host's was never changed (same names, sizes, mtimes, SHA-256)"

finish
