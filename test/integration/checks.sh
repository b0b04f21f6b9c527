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

CMD_TIMEOUT=60 # seconds per client command: a confused pcscd can block a client forever

passed=0
tmp=""
cleanup() {
  if declare -F cleanup_extra >/dev/null; then cleanup_extra || true; fi
  [[ -n $tmp ]] && rm -rf "$tmp"
  return 0
}
trap cleanup EXIT
tmp=$(mktemp -d "${TMPDIR:-/tmp}/$(basename "$0" .sh).XXXXXX") # e.g. /tmp/tls_test.XXXXXX

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

finish() { echo "$passed passed, 0 failed"; }

# run NAME CMD...: run CMD with stdin from /dev/null (no PIN prompt can ever wait), output
# (stdout+stderr) in $tmp/NAME.out, command line in its first line. Returns CMD's status.
run() {
  local name=$1 rc=0
  shift
  { printf '$'; printf ' %q' "$@"; printf '\n'; } >"$tmp/$name.out"
  timeout "$CMD_TIMEOUT" "$@" </dev/null >>"$tmp/$name.out" 2>&1 || rc=$?
  ((rc != 124)) || echo "(timed out after ${CMD_TIMEOUT}s)" >>"$tmp/$name.out"
  return "$rc"
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
