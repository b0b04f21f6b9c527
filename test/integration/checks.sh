# shellcheck shell=bash
# Shared helpers of the integration test scripts; source it right after `set -euo pipefail`:
#   source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"
# It gives:
# - the reporting convention: `ok` prints one "ok: ..." line per passed check; `fail` prints
#   "FAIL: ...", the tail of the files it names and "N passed, 1 failed", and exits 1 (the first
#   failing check stops the script); `finish` prints the final "N passed, 0 failed".
# - `run` (a command with stdin from /dev/null and a timeout, output in $tmp) and `must`.
# - $tmp, a temporary directory removed on exit. A script that has more to clean up (servers
#   it started) defines `cleanup_extra`: the EXIT trap calls it before removing $tmp.
# - `hexs`, `check_absent`: to check that no PIN shows in a log; `has_flag` for token flags.
# - `slots`, `objects`: pkcs11-tool -L / -O output as lines to compare; `pem_is` for certificates.
# - `modules`, `module_tokens`: `p11-kit list-modules` output as lines.
# - the simulated cards' PINs: AUTH_PIN, SIGN_PIN, and WRONG_PIN (a wrong auth PIN).
# - `need_tools` and `jpki_module`: the checks a script makes before it starts (exit 77 / 2).
# - `apdu_mark`, `new_apdus`, `sign_apdus`, `auth_pin_verifies`: parts of the card's APDU log $LOG.

CMD_TIMEOUT=60 # seconds per client command: a confused pcscd can block a client forever
SCRIPT_NAME=$(basename "$0" .sh) # e.g. tls_test, in the messages below

# shellcheck disable=SC2034 # used by the scripts that source this file
{
  AUTH_PIN=1234     # the simulated cards' PINs (jpki-sim's defaults, test/sim/jpki_card.h;
  SIGN_PIN=SIGN1234 # kAuthPin and kSignPin of test/common/test_support.h)
  WRONG_PIN=0000    # 4 digits, so the card (not the PIN format check) refuses it: a try spent
}

passed=0
tmp=""
cleanup() {
  if declare -F cleanup_extra >/dev/null; then cleanup_extra || true; fi
  [[ -n $tmp ]] && rm -rf "$tmp"
  return 0
}
trap cleanup EXIT
tmp=$(mktemp -d "${TMPDIR:-/tmp}/$SCRIPT_NAME.XXXXXX") # e.g. /tmp/tls_test.XXXXXX

ok() { passed=$((passed + 1)); echo "ok: $*"; }

# fail MESSAGE [FILE...]: report, show the files (command output), stop.
fail() {
  local msg=$1 f
  shift
  echo "FAIL: $msg"
  for f in "$@"; do
    [[ -e $f ]] || continue
    echo "---- ${f##*/} ----"
    tail -n 60 "$f"
  done
  echo "$passed passed, 1 failed"
  exit 1
}

# signatures LOG: the COMPUTE DIGITAL SIGNATURE lines of a simulated card's APDU log, without
# the module's probes, which no PIN precedes: the lock check (after its first card reset, and
# before sending a kept PIN), a request over an all-zero DigestInfo that a locked card must
# answer 6982; and the PSS check (once per card), a PSS request over an all-zero hash that a
# card answers 6982, or 6A86 when it has no PSS mode.
PROBES_RE='^80 2A 00 80 Lc=51 -> 6982 |^80 2A 04 80 Lc=32 -> (6982|6A86) '
signatures() { { grep -E '^80 2A ' "$1" || true; } | { grep -vE "$PROBES_RE" || true; }; }

finish() { echo "$passed passed, 0 failed"; }

# need_tools TOOL...: exit 77 (skipped) unless every TOOL is installed.
need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || { echo "$SCRIPT_NAME: missing $t (scripts/install-deps.sh)" >&2; exit 77; }
  done
}

# jpki_module: MODULE = $JPKI_MODULE, by default build/jpki-pkcs11.so of this source tree; exit 2
# if there is no such file.
jpki_module() {
  MODULE=${JPKI_MODULE:-$(cd "$(dirname "$0")/../.." && pwd)/build/jpki-pkcs11.so}
  [[ -f $MODULE ]] || { echo "$SCRIPT_NAME: module $MODULE not found (build it, or set JPKI_MODULE)" >&2; exit 2; }
}

# The simulated card's APDU log is $LOG (the script sets it: LOG=$JPKI_SIM_LOG_1).
# apdu_mark: its length now, in lines. new_apdus NAME FROM: the log after line FROM (a mark) in
# $tmp/NAME.apdu.
apdu_mark() { wc -l <"$LOG"; }
new_apdus() { tail -n +"$(($2 + 1))" "$LOG" >"$tmp/$1.apdu"; }

# sign_apdus NAME: the COMPUTE DIGITAL SIGNATURE lines of $tmp/NAME.apdu (`signatures`) in
# $tmp/NAME.sign.
sign_apdus() { signatures "$tmp/$1.apdu" >"$tmp/$1.sign" || true; }

# auth_pin_verifies NAME: the VERIFY commands of the auth PIN with data (00 20 00 98, a PIN
# try) in $tmp/NAME.apdu, in $tmp/NAME.verify.
auth_pin_verifies() { grep -E '^00 20 00 98 Lc=[1-9]' "$tmp/$1.apdu" >"$tmp/$1.verify" || true; }

# shown_args ARG...: the arguments as a shell would quote them, with PIN values redacted, so that
# no PIN reaches a log even when a failing command line is shown.
shown_args() {
  local a hide=0
  for a in "$@"; do
    if ((hide)); then
      printf ' <redacted>'
      hide=0
      continue
    fi
    case $a in
    --pin | --so-pin | --new-pin | --puk | -passin | -pass | -p | -kpw | -nss-pwd | --pwd) hide=1; printf ' %q' "$a" ;;
    --pin=*) printf ' --pin=<redacted>' ;;
    pass:*) printf ' pass:<redacted>' ;;
    *PIN=*) printf ' %q=<redacted>' "${a%%=*}" ;;
    *) printf ' %q' "$a" ;;
    esac
  done
}

# run NAME CMD...: run CMD with stdin from /dev/null (no PIN prompt can ever wait), output
# (stdout+stderr) in $tmp/NAME.out, command line in its first line. Returns CMD's status.
run() {
  local name=$1 rc=0
  shift
  { printf '$'; shown_args "$@"; printf '\n'; } >"$tmp/$name.out"
  timeout "$CMD_TIMEOUT" "$@" </dev/null >>"$tmp/$name.out" 2>&1 || rc=$?
  ((rc != 124)) || echo "(timed out after ${CMD_TIMEOUT}s)" >>"$tmp/$name.out"
  return "$rc"
}

# run_conf NAME CONF CMD...: `run` with OPENSSL_CONF=CONF and the module's trace in
# $tmp/NAME.trace; the new APDUs of $LOG in $tmp/NAME.apdu. Sets rc (CMD's status).
run_conf() {
  local name=$1 conf=$2 from
  shift 2
  from=$(apdu_mark)
  rc=0
  run "$name" env OPENSSL_CONF="$conf" JPKI_TRACE="$tmp/$name.trace" "$@" || rc=$?
  new_apdus "$name" "$from"
}

# must NAME DESCRIPTION CMD...: run, and fail the test if CMD fails.
must() {
  local name=$1 what=$2
  shift 2
  run "$name" "$@" || fail "$what (exit status $?)" "$tmp/$name.out"
}

# has_flag FLAGS FLAG: FLAGS (comma-separated, as pkcs11-tool prints them) contains FLAG.
has_flag() {
  local f fs
  IFS=',' read -ra fs <<<"$1"
  for f in "${fs[@]}"; do
    f=${f# }
    [[ $f == "$2" ]] && return 0
  done
  return 1
}

# hexs STRING: its bytes in hex, space-separated ("1234" -> "31 32 33 34").
hexs() { local s=$1 k out=""; for ((k = 0; k < ${#s}; k++)); do out+=$(printf '%02X ' "'${s:k:1}"); done; echo "${out% }"; }

# check_absent MESSAGE FILE PATTERN...: no PATTERN (fixed string, any case) in FILE; else fail
# with "MESSAGE ('PATTERN')".
check_absent() {
  local msg=$1 file=$2 pat
  shift 2
  for pat in "$@"; do
    grep -qiF -- "$pat" "$file" && fail "$msg ('$pat')" "$file"
  done
  return 0
}

# slots FILE: one line per slot with a token from `pkcs11-tool -L` output in FILE:
#   ID<TAB>READER<TAB>LABEL<TAB>SERIAL<TAB>PIN MIN/MAX<TAB>FLAGS
# (ID as printed in the parentheses, e.g. 0x2: what --slot takes).
slots() {
  awk '
    function flush() { if (id != "" && label != "") print id "\t" reader "\t" label "\t" serial "\t" pin "\t" flags }
    /^Slot / {
      flush(); id = label = serial = pin = flags = ""
      reader = $0; sub(/^Slot [^:]*: /, "", reader)
      if (match($0, /\(0x[0-9a-fA-F]+\)/)) id = substr($0, RSTART + 1, RLENGTH - 2)
      next
    }
    match($0, /^  [^:]+: /) {
      key = substr($0, 3, RLENGTH - 4); sub(/ +$/, "", key)
      val = substr($0, RLENGTH + 1)
      if (key == "token label") label = val
      else if (key == "serial num") serial = val
      else if (key == "pin min/max") pin = val
      else if (key == "token flags") flags = val
    }
    END { flush() }' "$1"
}

# objects FILE: the objects of `pkcs11-tool -O` output in FILE as sorted "type:ID" words
# (cert, pubkey, privkey, or the first word of an unknown object header).
objects() {
  awk '
    function flush() { if (type != "") print type ":" (id == "" ? "-" : id) }
    /^[A-Za-z]/ {
      flush(); id = ""
      if (/^Certificate Object/) type = "cert"
      else if (/^Public Key Object/) type = "pubkey"
      else if (/^Private Key Object/) type = "privkey"
      else if (/^(Using slot|Logging in|Please enter)/) type = ""
      else { type = $1; sub(/[;:].*/, "", type) }
      next
    }
    /^  ID: / { id = $2 }
    END { flush() }' "$1" | sort | paste -sd ' ' -
}

# modules FILE: `p11-kit list-modules` output in FILE (after run's command line) as
# "module|path" lines, one per module.
modules() { awk 'NR > 1 && /^[^ ]/ { n = index($0, ": "); print substr($0, 1, n - 1) "|" substr($0, n + 2) }' "$1"; }

# module_tokens FILE: its tokens as "label|manufacturer|model|serial|flags" (flags comma-joined).
module_tokens() {
  awk '
    function flush() { if (label != "") print label "|" manuf "|" model "|" serial "|" flags; label = "" }
    /^[^ ]/ { flush(); next }
    /^    token: / { flush(); label = substr($0, 12); manuf = model = serial = flags = ""; inflags = 0; next }
    label == "" { next }
    /^        manufacturer: / { manuf = substr($0, 23); inflags = 0; next }
    /^        model: / { model = substr($0, 16); inflags = 0; next }
    /^        serial-number: / { serial = substr($0, 24); inflags = 0; next }
    /^        flags:/ { inflags = 1; next }
    inflags && match($0, /^ +/) && RLENGTH > 8 { f = substr($0, RLENGTH + 1); flags = flags (flags == "" ? "" : ",") f; next }
    { inflags = 0 }
    END { flush() }' "$1"
}

# pem_is NAME FILE DER: the (first) PEM certificate in FILE (command output, a page) is the DER
# file; the certificate goes to $tmp/NAME.pem and $tmp/NAME.der.
pem_is() {
  sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p' "$2" >"$tmp/$1.pem"
  openssl x509 -in "$tmp/$1.pem" -outform der -out "$tmp/$1.der" 2>/dev/null </dev/null &&
    cmp -s "$tmp/$1.der" "$3"
}

# card_locked NAME READER: whether the card in READER (a reader name) signs with neither key
# without a new VERIFY: opensc-tool (default driver, no card probing) selects the JPKI AP and
# asks each key for a signature over an all-zero SHA-256 DigestInfo; both must answer 6982.
# Output in $tmp/NAME.out.
card_locked() {
  local name=$1 reader=$2 index di sws
  opensc-tool -l >"$tmp/$name.readers" 2>&1 || true
  index=$(awk -v r="$reader" '$1 ~ /^[0-9]+$/ { n = $0; sub(/^[0-9]+ +(Yes|No) +/, "", n); sub(/ +$/, "", n)
    if (n == r) print $1 }' "$tmp/$name.readers")
  [[ -n $index ]] || fail "opensc-tool -l does not list '$reader'" "$tmp/$name.readers"
  di=3031300D060960864801650304020105000420$(printf '%064d' 0)
  must "$name" "opensc-tool on '$reader' failed" opensc-tool -c default --reader "$index" \
    -s 00A4040C0AD392F000260100000001 -s "802A009733${di}00" -s "802A009A33${di}00"
  sws=$(sed -nE 's/.*Received \(SW1=0x([0-9A-Fa-f]{2}), *SW2=0x([0-9A-Fa-f]{2})\).*/\1\2/p' "$tmp/$name.out" |
    tr 'a-f' 'A-F' | paste -sd ' ' -)
  [[ $sws == "9000 6982 6982" ]]
}
