#!/usr/bin/env bash
# OpenSSH with the card: `ssh-keygen -D` lists the card's authentication key through this
# module, and `ssh -I <module>` logs in to a private sshd with it (the on-card signature:
# rsa-sha2-512 by default, rsa-sha2-256 on request, both CKM_RSA_PKCS over a DigestInfo, i.e.
# COMPUTE DIGITAL SIGNATURE 80 2A 00 97 with Lc=83 / Lc=51). The PIN comes from SSH_ASKPASS
# (SSH_ASKPASS_REQUIRE=force, no tty); a wrong one fails the login and costs exactly one try.
#
# The sshd is this script's own: run as root in the foreground on 127.0.0.1 with its own config,
# host key, authorized_keys and pid file in $tmp (nothing of the host's ssh configuration is
# read or changed); its privilege-separation directory /run/sshd is a private bind mount, which
# is why the script must run inside the harness' private mount namespace.
#
# Runs inside the harness with one card (CTest does this):
#   test/harness/pcsc-harness.sh --cards 1 --pki build/test-pki --sim build/test/sim/jpki-sim \
#     -- test/integration/ssh_test.sh
# Prints one "ok: ..." line per check and "N passed, 0 failed" at the end; the first failing
# check prints what it saw and exits 1. The wrong-PIN check costs one auth PIN try; the last
# login (right PIN) resets the counter.
#
# Environment: JPKI_MODULE is the module (default: build/jpki-pkcs11.so of this source tree).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh" # ok, fail, run, must, $tmp, ...

PORT=42201        # sshd's port (127.0.0.1 only, inside the harness' network namespace)
SERVER_WAIT=100   # tenths of a second to wait for sshd to listen / to exit
PIN_PROMPT="Enter PIN for 'JPKI Authentication': "
PRIVSEP_DIR=/run/sshd # compiled into sshd; must exist

sshd_pid=""
privsep_mounted=""
privsep_created=""
cleanup_extra() {
  if [[ -n $sshd_pid ]] && kill -0 "$sshd_pid" 2>/dev/null; then
    kill "$sshd_pid" 2>/dev/null || true
    wait "$sshd_pid" 2>/dev/null || true
  fi
  [[ -n $privsep_mounted ]] && { umount "$PRIVSEP_DIR" 2>/dev/null || umount -l "$PRIVSEP_DIR" 2>/dev/null || true; }
  [[ -n $privsep_created ]] && { rmdir "$PRIVSEP_DIR" 2>/dev/null || true; }
  return 0
}

# ---------------------------------------------------------------------------------------------
[[ -n ${JPKI_SIM_LOG_1:-} && -n ${JPKI_PKI_DIR:-} ]] ||
  { echo "ssh_test: run me inside test/harness/pcsc-harness.sh --cards 1" >&2; exit 2; }
((EUID == 0)) || { echo "ssh_test: needs root (sshd, login as root, bind mount)" >&2; exit 77; }
need_tools ssh ssh-keygen openssl setsid timeout mount umount
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[[ -x $SSHD ]] || { echo "ssh_test: missing sshd (openssh-server, scripts/install-deps.sh)" >&2; exit 77; }
getent passwd sshd >/dev/null ||
  { echo "ssh_test: no 'sshd' privilege-separation user (install openssh-server)" >&2; exit 77; }
# /run/sshd is mounted over below: never do that in the caller's mount namespace.
[[ $(readlink /proc/self/ns/mnt) != "$(readlink /proc/1/ns/mnt)" ]] ||
  { echo "ssh_test: not in a private mount namespace (run me inside the harness)" >&2; exit 2; }
jpki_module
CARD=$JPKI_PKI_DIR/card1
LOG=$JPKI_SIM_LOG_1
for f in auth_cert.der auth_ca.der sign_cert.der sign_ca.der; do
  [[ -f $CARD/$f ]] || { echo "ssh_test: $CARD/$f missing" >&2; exit 2; }
done
unset SSH_AUTH_SOCK SSH_AGENT_PID # no agent: the card is the only key source

# ssh_key NAME DER: the ssh-rsa public key of certificate DER (base64 part only) in $tmp/NAME.key.
ssh_key() {
  must "$1.pubpem" "extracting the public key of ${2##*/} failed" \
    openssl x509 -inform der -in "$2" -noout -pubkey -out "$tmp/$1.pem"
  must "$1.ssh" "converting the public key of ${2##*/} to OpenSSH format failed" \
    ssh-keygen -i -m PKCS8 -f "$tmp/$1.pem"
  awk '$1 == "ssh-rsa" { print $2 }' "$tmp/$1.ssh.out" >"$tmp/$1.key"
  [[ -s $tmp/$1.key ]] || fail "no ssh-rsa key from ${2##*/}" "$tmp/$1.ssh.out"
}

# ---- 1. ssh-keygen -D: the card's keys as OpenSSH sees them ----------------------------------
ssh_key auth "$CARD/auth_cert.der"
ssh_key auth_ca "$CARD/auth_ca.der"
ssh_key sign "$CARD/sign_cert.der"
ssh_key sign_ca "$CARD/sign_ca.der"
AUTH_KEY=$(cat "$tmp/auth.key")
printf 'ssh-rsa %s card1-auth\n' "$AUTH_KEY" >"$tmp/card.pub"
chmod 600 "$tmp/card.pub"
FP=$(ssh-keygen -l -E sha256 -f "$tmp/card.pub" | awk '{ print $2 }')
[[ $FP == SHA256:* ]] || fail "no SHA256 fingerprint for the card's auth key: '$FP'"

from=$(apdu_mark)
must keygen "ssh-keygen -D failed" ssh-keygen -D "$MODULE"
new_apdus keygen "$from"
sed 1d "$tmp/keygen.out" >"$tmp/keygen.keys"
lines=$(awk '$1 == "ssh-rsa" && $3 == "Authentication" && $4 == "Key"' "$tmp/keygen.keys")
[[ $(wc -l <<<"$lines") == 1 && $(awk '{ print $2 }' <<<"$lines") == "$AUTH_KEY" ]] ||
  fail "ssh-keygen -D: no single 'ssh-rsa <key of card1/auth_cert.der> Authentication Key' line" "$tmp/keygen.out"
grep -qF "$(cat "$tmp/sign.key")" "$tmp/keygen.keys" &&
  fail "ssh-keygen -D lists the signature key without a login" "$tmp/keygen.out"
# The other lines are the CA certificates the tokens hold (public objects): their keys.
others=$(awk '$1 == "ssh-rsa" && !($3 == "Authentication" && $4 == "Key") { print $2 }' "$tmp/keygen.keys" | sort)
[[ $others == "$(sort "$tmp/auth_ca.key" "$tmp/sign_ca.key")" ]] ||
  fail "ssh-keygen -D: the lines besides 'Authentication Key' are not exactly the keys of auth_ca.der and sign_ca.der" "$tmp/keygen.out"
[[ $(grep -c . "$tmp/keygen.keys") == 3 ]] || fail "ssh-keygen -D: expected 3 lines" "$tmp/keygen.out"
grep -qE '^00 20 00 [0-9A-F]{2} Lc=[1-9]' "$tmp/keygen.apdu" && fail "ssh-keygen -D sent a PIN (VERIFY with data)" "$tmp/keygen.apdu"
signatures "$tmp/keygen.apdu" | grep -q . && fail "ssh-keygen -D made the card sign" "$tmp/keygen.apdu"
ok "ssh-keygen -D: 'ssh-rsa ... Authentication Key' = key of card1/auth_cert.der ($FP); the 2 other lines are the auth and sign CA certificates' keys; no signature key, no PIN sent"

# ---- 2. a private sshd on 127.0.0.1 ----------------------------------------------------------
cp "$tmp/card.pub" "$tmp/authorized_keys"
must hostkey "making the sshd host key failed" ssh-keygen -q -t ed25519 -N '' -C ssh_test -f "$tmp/host_ed25519"
mkdir -m 755 "$tmp/privsep"
if [[ ! -d $PRIVSEP_DIR ]]; then
  mkdir -m 755 "$PRIVSEP_DIR"
  privsep_created=1
fi
mount --bind "$tmp/privsep" "$PRIVSEP_DIR" || fail "cannot bind-mount $tmp/privsep over $PRIVSEP_DIR"
privsep_mounted=1
cat >"$tmp/sshd_config" <<EOF
# ssh_test.sh's own sshd (ListenAddress 127.0.0.1 and the port are on its command line):
# public key authentication for root only, from this temp dir.
HostKey $tmp/host_ed25519
PidFile $tmp/sshd.pid
AuthorizedKeysFile $tmp/authorized_keys
AuthorizedPrincipalsFile none
StrictModes no
PermitRootLogin prohibit-password
UsePAM no
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
GSSAPIAuthentication no
PermitUserEnvironment no
PermitUserRC no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PrintMotd no
PrintLastLog no
UseDNS no
LogLevel VERBOSE
EOF
must sshd_t "sshd -t rejects the test configuration" "$SSHD" -t -f "$tmp/sshd_config"
: >"$tmp/sshd.log"
timeout $((CMD_TIMEOUT * 5)) "$SSHD" -D -e -f "$tmp/sshd_config" -p "$PORT" -o ListenAddress=127.0.0.1 \
  </dev/null >>"$tmp/sshd.log" 2>&1 &
sshd_pid=$!
for ((i = 0; i < SERVER_WAIT; i++)); do
  grep -q "^Server listening on 127.0.0.1 port $PORT\." "$tmp/sshd.log" && break
  kill -0 "$sshd_pid" 2>/dev/null || fail "sshd exited before listening" "$tmp/sshd.log"
  sleep 0.1
done
((i < SERVER_WAIT)) || fail "sshd does not listen after $((SERVER_WAIT / 10))s" "$tmp/sshd.log"
ok "sshd $("$SSHD" -V 2>&1 | head -n 1 || true) listens on 127.0.0.1:$PORT (own config, host key and authorized_keys = the card's auth key)"

# askpass: logs its prompt, answers the PIN in $tmp/askpass.pin once, fails any further call.
cat >"$tmp/askpass.sh" <<EOF
#!/bin/sh
n=\$(wc -l <"$tmp/askpass.log")
printf '%s\n' "\$1" >>"$tmp/askpass.log"
[ "\$n" -eq 0 ] || exit 1
cat "$tmp/askpass.pin"
EOF
chmod 700 "$tmp/askpass.sh"

# login NAME PIN [SSH OPTIONS...]: ssh -I MODULE to root@127.0.0.1 running 'echo
# logged-in-with-card', no tty, the PIN from askpass. stdout in $tmp/NAME.stdout, everything
# in $tmp/NAME.out; the new sshd log lines in NAME.sshd, the new APDUs in NAME.apdu. Sets rc.
login() {
  local name=$1 pin=$2 from sfrom
  shift 2
  local cmd=(ssh -F /dev/null -I "$MODULE" -p "$PORT" -o BatchMode=no -o StrictHostKeyChecking=no
    -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR
    -o IdentitiesOnly=yes -o IdentityFile="$tmp/card.pub" "$@" root@127.0.0.1 'echo logged-in-with-card')
  printf '%s\n' "$pin" >"$tmp/askpass.pin"
  : >"$tmp/askpass.log"
  from=$(apdu_mark)
  sfrom=$(wc -l <"$tmp/sshd.log")
  { printf '$ SSH_ASKPASS=askpass.sh SSH_ASKPASS_REQUIRE=force setsid -w'; printf ' %q' "${cmd[@]}"; printf '\n'; } >"$tmp/$name.out"
  rc=0
  SSH_ASKPASS=$tmp/askpass.sh SSH_ASKPASS_REQUIRE=force \
    timeout "$CMD_TIMEOUT" setsid -w "${cmd[@]}" </dev/null >"$tmp/$name.stdout" 2>"$tmp/$name.crlf" || rc=$?
  tr -d '\r' <"$tmp/$name.crlf" >"$tmp/$name.stderr" # ssh's messages end in CRLF
  { cat "$tmp/$name.stdout" "$tmp/$name.stderr"; echo "(exit status $rc)"; } >>"$tmp/$name.out"
  ((rc != 124)) || echo "(timed out after ${CMD_TIMEOUT}s)" >>"$tmp/$name.out"
  # sshd's children log the connection (and its end) after the client may have gone: wait,
  # bounded, for the end of this connection in the log.
  local i
  for ((i = 0; i < 100; i++)); do
    tail -n +"$((sfrom + 1))" "$tmp/sshd.log" | grep -qE 'Disconnected from|Connection closed by|Connection reset by' && break
    sleep 0.1
  done
  tail -n +"$((sfrom + 1))" "$tmp/sshd.log" | tr -d '\r' >"$tmp/$name.sshd" # sshd -e: CRLF
  new_apdus "$name" "$from"
  { echo "---- askpass prompts ----"; cat "$tmp/askpass.log"; } >>"$tmp/$name.out"
}

# login_ok NAME LC HASH: the login worked, with one PIN prompt, only successful VERIFYs and one
# on-card PKCS#1 v1.5 signature over a DigestInfo of LC bytes. Sets nverify.
login_ok() {
  local name=$1 lc=$2 hash=$3 files=("$tmp/$1.out" "$tmp/$1.sshd" "$tmp/$1.apdu")
  ((rc == 0)) || fail "$name: ssh failed (exit status $rc)" "${files[@]}"
  [[ $(cat "$tmp/$name.stdout") == logged-in-with-card ]] ||
    fail "$name: the remote command's output is not 'logged-in-with-card'" "${files[@]}"
  [[ $(cat "$tmp/askpass.log") == "$PIN_PROMPT" ]] ||
    fail "$name: expected exactly one askpass call with the prompt \"$PIN_PROMPT\"" "${files[@]}"
  # The fingerprint is base64 ('+', '/'): matched as a fixed string, never as a regex.
  grep -E '^Accepted publickey for root from 127\.0\.0\.1 port [0-9]+ ssh2: RSA ' "$tmp/$name.sshd" |
    grep -qF " ssh2: RSA $FP" ||
    fail "$name: sshd's log has no 'Accepted publickey for root from 127.0.0.1 port N ssh2: RSA $FP'" "${files[@]}"
  # The module sends the PIN at C_Login and again in the signature's own card transaction (it
  # never leaves the card unlocked): every VERIFY with data must be answered 9000.
  auth_pin_verifies "$name"
  nverify=$(wc -l <"$tmp/$name.verify")
  ((nverify >= 1)) && ! grep -vq ' -> 9000 ' "$tmp/$name.verify" ||
    fail "$name: expected VERIFY of the auth PIN (00 20 00 98 with data), all answered 9000" "$tmp/$name.apdu"
  sign_apdus "$name"
  [[ $(cat "$tmp/$name.sign") == "80 2A 00 97 Lc=$lc -> 9000 len=256" ]] ||
    fail "$name: expected exactly '80 2A 00 97 Lc=$lc -> 9000 len=256' ($hash DigestInfo)" "$tmp/$name.apdu"
}

# ---- 3. login with the card: rsa-sha2-512 (ssh's first choice), then rsa-sha2-256 -----------
login ssh512 "$AUTH_PIN"
login_ok ssh512 83 SHA-512
ok "ssh -I MODULE root@127.0.0.1 (PIN via SSH_ASKPASS, one prompt \"$PIN_PROMPT\"): 'logged-in-with-card'; sshd: '$(grep -m1 '^Accepted publickey' "$tmp/ssh512.sshd")'; card: $nverify x '$(head -n 1 "$tmp/ssh512.verify")' (C_Login, signature), '$(cat "$tmp/ssh512.sign")' (rsa-sha2-512: SHA-512 DigestInfo)"

login ssh256 "$AUTH_PIN" -o PubkeyAcceptedAlgorithms=rsa-sha2-256
login_ok ssh256 51 SHA-256
ok "ssh -o PubkeyAcceptedAlgorithms=rsa-sha2-256: logged in as well; card: '$(cat "$tmp/ssh256.sign")' (SHA-256 DigestInfo)"

# ---- 4. a wrong PIN: no login, exactly one try spent ------------------------------------------
login wrongpin "$WRONG_PIN"
files=("$tmp/wrongpin.out" "$tmp/wrongpin.sshd" "$tmp/wrongpin.apdu")
((rc == 255)) || fail "wrong PIN: ssh exit status $rc, expected 255" "${files[@]}"
grep -q 'logged-in-with-card' "$tmp/wrongpin.stdout" && fail "wrong PIN: the remote command ran" "${files[@]}"
grep -qxF 'root@127.0.0.1: Permission denied (publickey).' "$tmp/wrongpin.stderr" ||
  fail "wrong PIN: no 'root@127.0.0.1: Permission denied (publickey).'" "${files[@]}"
grep -qxF 'PKCS#11 login failed: PIN incorrect' "$tmp/wrongpin.stderr" ||
  fail "wrong PIN: ssh does not say 'PKCS#11 login failed: PIN incorrect'" "${files[@]}"
[[ $(cat "$tmp/askpass.log") == "$PIN_PROMPT" ]] ||
  fail "wrong PIN: expected exactly one askpass call (ssh asked again?)" "${files[@]}"
grep -q '^Accepted publickey' "$tmp/wrongpin.sshd" && fail "wrong PIN: sshd accepted a public key" "${files[@]}"
auth_pin_verifies wrongpin
[[ $(wc -l <"$tmp/wrongpin.verify") == 1 && $(cat "$tmp/wrongpin.verify") == *" -> 63C2 "* ]] ||
  fail "wrong PIN: expected exactly one VERIFY of the auth PIN with data, answered 63C2 (3 -> 2 tries)" "$tmp/wrongpin.apdu"
signatures "$tmp/wrongpin.apdu" | grep -q . && fail "wrong PIN: the card signed anyway" "$tmp/wrongpin.apdu"
ok "wrong PIN via askpass: one prompt, ssh: 'PKCS#11 login failed: PIN incorrect', 'Permission denied (publickey).' (exit 255); card: '$(cat "$tmp/wrongpin.verify")' only (one try spent), no signature; sshd accepted nothing"

# ---- 5. the right PIN again: logs in and resets the counter -----------------------------------
login again "$AUTH_PIN"
login_ok again 83 SHA-512
grep -q '^00 20 00 98 Lc=0 -> 63C2 ' "$tmp/again.apdu" ||
  fail "right PIN after the wrong one: the empty VERIFY before it did not show 2 tries left (63C2)" "$tmp/again.apdu"
tail -n 1 "$tmp/again.verify" | grep -q ' -> 9000 ' || fail "right PIN after the wrong one: last VERIFY not 9000" "$tmp/again.apdu"
ok "right PIN after the wrong one: logged in again (card: counter read '00 20 00 98 Lc=0 -> 63C2', then VERIFY -> 9000, which resets it to 3)"

finish
