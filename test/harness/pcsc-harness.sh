#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions called from traps or by name look unreachable to it
# Runs a command against simulated JPKI cards behind a private pcscd (see --help).
#
# Layout of one run: the script re-executes itself inside new mount + network namespaces, so
# its pcscd socket (/run/pcscd is bind-mounted over) and its vpcd TCP ports are invisible to
# the host and to other runs; any number of runs can go at once.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/../.." && pwd)
VPCD_LIB=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
BASE_PORT=35963
MAX_READERS=16           # PCSCLITE_MAX_READERS_CONTEXTS in pcsc-lite 1.9.9
E_HARNESS=125            # the harness itself failed (not the command)
E_SKIP=77                # cannot run here (not root, namespaces refused): "skipped"

usage() {
  cat <<EOF
usage: ${0##*/} [options] -- command [args...]

Starts a private pcscd with virtual (vpcd) readers inside new mount and network namespaces,
connects N simulated JPKI cards to them, waits until every card is present, then runs the
command there and exits with its status. Needs root.

options:
  --cards N         number of simulated cards, 0..$MAX_READERS (default 1)
  --pki DIR         test PKI: card i uses DIR/card<i> (default: $REPO/build/test-pki,
                    generated on demand by test/pki/gen-test-pki.sh; an explicit DIR is
                    used as is)
  --sim PATH        card simulator (default: $REPO/build/test/sim/jpki-sim)
  --sim-arg ARG     extra argument for every card's simulator (repeatable)
  --card-arg I ARG  extra argument for card I's simulator only (repeatable)
  --keep-empty      make sure at least one reader stays empty (adds a vpcd entry when N is
                    even; with an odd N the spare second reader of the last entry is empty)
  -h, --help        this text

Card i is started as
  SIM --port PORT_i --pki PKI/card<i> --log HARNESS_DIR/sim<i>.log [--sim-arg...] [--card-arg...]
with PORT_i = $BASE_PORT + (i-1); each vpcd entry serves two readers (PORT and PORT+1), so
cards 1 and 2 are "Virtual PCD 00 00" and "Virtual PCD 00 01". Entries after the first get
their own friendly name ("Virtual PCD B", "C", ...) and their own copy of the vpcd driver:
vpcd keeps per-slot state in globals, and pcscd numbers serial readers that share a driver
file identically, so neither could tell two entries apart otherwise.

Environment given to the command:
  PCSCLITE_CSOCK_NAME   /run/pcscd/pcscd.comm (the private daemon inside the namespace)
  JPKI_SIM_COUNT        N
  JPKI_SIM_LOG_i        APDU log of card i      JPKI_SIM_PID_i   its pid (SIGUSR1 = pull the
  JPKI_SIM_PORT_i       its vpcd port                            card out, SIGUSR2 = insert)
  JPKI_SIM_READER_i     PC/SC name of the reader holding card i
  JPKI_HARNESS_DIR      the run's temp dir (logs: pcscd.log, sim<i>.log, sim<i>.out)
  JPKI_PCSCD_LOG        the pcscd log           JPKI_PKI_DIR     the PKI directory
  JPKI_PCSCD_PID        pcscd's pid, JPKI_PCSCD_CONFIG its reader config (a test may restart it)

Environment read:
  PCSC_HARNESS_DEBUG=1    run pcscd with -a -d (APDU and debug logging)
  PCSC_HARNESS_KEEP=1     keep the temp dir (its path is printed on stderr)
  PCSC_HARNESS_TIMEOUT=S  seconds to wait for readers and cards (default 15)

Exit status: the command's; $E_HARNESS if the harness failed; $E_SKIP if it cannot run here.
EOF
}

die() { echo "pcsc-harness: $*" >&2; exit "$E_HARNESS"; }
skip() { echo "pcsc-harness: $*" >&2; exit "$E_SKIP"; }

# ---- options (parsed in both stages; the inner stage gets the original argv) ----
ORIG_ARGS=("$@")
cards=1 pki="" sim="" keep_empty=0
sim_args=() card_arg_idx=() card_arg_val=()
while (($#)); do
  case $1 in
    --cards) (($# >= 2)) || die "--cards needs a value"; cards=$2; shift 2 ;;
    --pki) (($# >= 2)) || die "--pki needs a value"; pki=$2; shift 2 ;;
    --sim) (($# >= 2)) || die "--sim needs a value"; sim=$2; shift 2 ;;
    --sim-arg) (($# >= 2)) || die "--sim-arg needs a value"; sim_args+=("$2"); shift 2 ;;
    --card-arg)
      (($# >= 3)) || die "--card-arg needs I and ARG"
      card_arg_idx+=("$2"); card_arg_val+=("$3"); shift 3 ;;
    --keep-empty) keep_empty=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
(($#)) || die "no command given (see --help)"
# 10#: a leading zero must not turn the number octal.
if ! [[ $cards =~ ^[0-9]+$ ]] || ((10#$cards > MAX_READERS)); then
  die "--cards must be 0..$MAX_READERS"
fi
cards=$((10#$cards))
for k in "${!card_arg_idx[@]}"; do
  i=${card_arg_idx[k]}
  if ! [[ $i =~ ^[0-9]+$ ]] || ((10#$i < 1 || 10#$i > cards)); then
    die "--card-arg index $i is not a card (1..$cards)"
  fi
  card_arg_idx[k]=$((10#$i))
done

# Two readers per vpcd entry; at least one entry so pcscd has a reader even with 0 cards.
entries=$(((cards + 1) / 2))
((keep_empty && cards % 2 == 0)) && entries=$((entries + 1))
((entries >= 1)) || entries=1
((entries * 2 <= MAX_READERS)) || die "$cards cards plus an empty reader exceed pcscd's $MAX_READERS readers"

# vpcd entry e is "Virtual PCD" for e=0, then "Virtual PCD B", "C", ...; slot 0/1 of it.
friendly_name() { # entry
  if (($1 == 0)); then echo "Virtual PCD"; else printf 'Virtual PCD %b\n' "\\x$(printf %x $((65 + $1)))"; fi
}
reader_name() { printf '%s 00 %02X' "$(friendly_name "$1")" "$2"; } # entry slot

# =========================== outer stage: checks, then re-exec =============================
outer_stage() {
  ((EUID == 0)) || skip "needs root (unshare, mount, and pcscd's fixed /run/pcscd)"
  for t in unshare ip mount setpriv pcscd opensc-tool timeout; do
    command -v "$t" >/dev/null || skip "missing tool: $t"
  done
  [[ -f $VPCD_LIB ]] || skip "missing $VPCD_LIB (package vsmartcard-vpcd)"
  # Fail early (and as "skip") where namespaces are not allowed, e.g. unprivileged containers.
  unshare --mount --net true 2>/dev/null || skip "unshare --mount --net is not permitted here"

  if ((cards > 0)); then
    sim=${sim:-$REPO/build/test/sim/jpki-sim}
    [[ -x $sim ]] || die "simulator $sim is missing or not executable (build it, or pass --sim)"
    sim=$(readlink -f "$sim")
    if [[ -z $pki ]]; then
      # Default PKI: (re)generate on demand; the generator is idempotent and locks itself.
      pki=$REPO/build/test-pki
      "$REPO/test/pki/gen-test-pki.sh" "$pki" $((cards > 2 ? cards : 2)) >/dev/null ||
        die "generating the test PKI in $pki failed"
    fi
    [[ -d $pki ]] || die "PKI directory $pki does not exist"
    pki=$(readlink -f "$pki")
    for ((i = 1; i <= cards; i++)); do
      [[ -d $pki/card$i ]] || die "$pki/card$i is missing (run test/pki/gen-test-pki.sh $pki $cards)"
    done
  fi
  _PCSC_HARNESS_OUTER_NS=$(readlink /proc/self/ns/mnt)
  export _PCSC_HARNESS_STAGE=inner _PCSC_HARNESS_SIM=$sim _PCSC_HARNESS_PKI=$pki _PCSC_HARNESS_OUTER_NS
  # Same pid, new namespaces: signals sent to the harness reach the inner stage directly.
  exec unshare --mount --net --propagation private -- "$BASH" "$SELF" "${ORIG_ARGS[@]}"
}
[[ ${_PCSC_HARNESS_STAGE:-} == inner ]] || outer_stage # does not return

# ================================ inner stage (namespaced) =================================
sim=${_PCSC_HARNESS_SIM:-} pki=${_PCSC_HARNESS_PKI:-} outer_ns=${_PCSC_HARNESS_OUTER_NS:-}
unset _PCSC_HARNESS_STAGE _PCSC_HARNESS_SIM _PCSC_HARNESS_PKI _PCSC_HARNESS_OUTER_NS # nested runs start afresh
# Never mount over the caller's /run/pcscd: make sure unshare really gave us a new namespace.
ns=$(readlink /proc/self/ns/mnt)
[[ -n $outer_ns && -n $ns && $ns != "$outer_ns" ]] || die "inner stage is not in a private mount namespace"
TIMEOUT=${PCSC_HARNESS_TIMEOUT:-15}
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "PCSC_HARNESS_TIMEOUT must be whole seconds"

TMP="" pcscd_pid="" cmd_pid="" sim_pids=() mounts=()

alive() { # pid: running and not a zombie
  local st
  [[ -n $1 && -r /proc/$1/stat ]] || return 1
  st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z ]]
}

any_alive() { local p; for p in "$@"; do alive "$p" && return 0; done; return 1; }

stop() { # pids...: TERM, wait up to 5 s, then KILL whatever is left
  local p n
  for p in "$@"; do alive "$p" && kill -TERM "$p" 2>/dev/null; done
  for ((n = 0; n < 50; n++)); do
    any_alive "$@" || return 0
    sleep 0.1
  done
  for p in "$@"; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
  return 0
}

cleanup() {
  local rc=$? m
  trap - EXIT INT TERM HUP
  set +e
  # disown: no "Killed ..." job reports from bash for what we stop on purpose.
  disown -a 2>/dev/null
  [[ -n $cmd_pid ]] && stop "$cmd_pid"
  # Cards first: stopping pcscd first would make them see a dead reader and retry.
  ((${#sim_pids[@]})) && stop "${sim_pids[@]}"
  [[ -n $pcscd_pid ]] && stop "$pcscd_pid"
  for ((m = ${#mounts[@]} - 1; m >= 0; m--)); do
    umount "${mounts[m]}" 2>/dev/null || umount -l "${mounts[m]}" 2>/dev/null
  done
  if [[ -n $TMP ]]; then
    if [[ ${PCSC_HARNESS_KEEP:-0} == 1 ]]; then
      echo "pcsc-harness: kept $TMP" >&2
    else
      rm -rf "$TMP"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
# The signal handlers only exit; the EXIT trap does the work (and stops the command).
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pcsc-harness.XXXXXX")
mkdir "$TMP/run" "$TMP/reader.conf.d"

ip link set lo up || die "cannot bring up lo in the new network namespace"

# pcscd 1.9.9 always serves /run/pcscd/pcscd.comm, whatever PCSCLITE_CSOCK_NAME says: give
# it a private /run/pcscd. The directory must exist to be mounted over; pcscd's own package
# normally creates it, this host may never have started pcscd.
[[ -d /run/pcscd ]] || mkdir -p /run/pcscd
mount --bind "$TMP/run" /run/pcscd || die "cannot bind-mount $TMP/run over /run/pcscd"
mounts+=(/run/pcscd)

# Extra entries need their own copy of the driver (separate globals in vpcd). Copies live on
# a namespace-private tmpfs because the temp dir may sit on a noexec /tmp.
if ((entries > 1)); then
  mkdir "$TMP/drivers"
  mount -t tmpfs -o mode=0755,size=16m harness-drivers "$TMP/drivers" ||
    die "cannot mount a tmpfs for the driver copies"
  mounts+=("$TMP/drivers")
fi
conf=$TMP/reader.conf.d/vpcd
: >"$conf"
for ((e = 0; e < entries; e++)); do
  port=$((BASE_PORT + 2 * e)) lib=$VPCD_LIB
  if ((e > 0)); then
    lib=$TMP/drivers/libifdvpcd-$e.so
    cp "$VPCD_LIB" "$lib"
  fi
  printf 'FRIENDLYNAME "%s"\nDEVICENAME   /dev/null:%d\nLIBPATH      %s\nCHANNELID    %d\n\n' \
    "$(friendly_name "$e")" "$port" "$lib" "$port" >>"$conf"
done

pcscd_opts=(--foreground --config "$TMP/reader.conf.d")
[[ ${PCSC_HARNESS_DEBUG:-0} == 1 ]] && pcscd_opts+=(-a -d)
# --pdeathsig: should this script be SIGKILLed, its daemons die with it instead of lingering
# in an orphaned namespace.
setpriv --pdeathsig KILL -- pcscd "${pcscd_opts[@]}" >"$TMP/pcscd.log" 2>&1 </dev/null &
pcscd_pid=$!
export PCSCLITE_CSOCK_NAME=/run/pcscd/pcscd.comm

dump_logs() {
  local f
  echo "---- pcscd.log (tail) ----" >&2
  # opensc-tool -l polling leaves "IFDControl() Card not transacted: 606" lines: skip them.
  grep -v "Card not transacted: 606" "$TMP/pcscd.log" 2>/dev/null | tail -n 30 >&2
  for f in "$TMP"/sim*.out "$TMP"/sim*.log; do
    [[ -s $f ]] || continue
    echo "---- ${f##*/} (tail) ----" >&2
    tail -n 15 "$f" >&2
  done
  echo "---- opensc-tool -l ----" >&2
  timeout 5 opensc-tool -l >&2 2>&1
}

# Reader states from opensc-tool -l, one "NAME<TAB>Yes|No" line per reader. Its rows are
# printf("%-4d %-5s %-9s %s"): the name starts at column 22. Each call is bounded: a confused
# pcscd can leave a client blocked forever.
reader_states() {
  timeout 5 opensc-tool -l 2>/dev/null |
    awk '/^[0-9]+ +(Yes|No) / { print substr($0, 22) "\t" $2 }'
}

# wait_for WHAT CHECK: poll CHECK (a function) until it succeeds, at most TIMEOUT seconds.
wait_for() {
  local what=$1 check=$2 deadline=$((SECONDS + TIMEOUT)) p
  while ! "$check"; do
    alive "$pcscd_pid" || { dump_logs; die "pcscd exited while waiting for $what"; }
    for p in "${sim_pids[@]}"; do
      alive "$p" || { dump_logs; die "a card simulator (pid $p) exited while waiting for $what"; }
    done
    ((SECONDS < deadline)) || { dump_logs; die "timed out after ${TIMEOUT}s waiting for $what"; }
    sleep 0.2
  done
}

# Our readers, name -> 1 if a card goes in, 0 if it stays empty. Readers that are not ours
# (pcscd's USB hotplug still sees the host's real readers) are ignored by the checks below.
declare -A want_reader=()
for ((e = 0; e < entries; e++)); do
  want_reader[$(reader_name "$e" 0)]=0 want_reader[$(reader_name "$e" 1)]=0
done

readers_up() {
  local name state n=0
  while IFS=$'\t' read -r name state; do
    [[ -n ${want_reader[$name]:-} ]] && n=$((n + 1))
  done < <(reader_states)
  ((n == ${#want_reader[@]}))
}
wait_for "${#want_reader[@]} readers" readers_up

# The readers listen now, so the cards' own 10 s connect retry is not spent on pcscd start-up.
for ((i = 1; i <= cards; i++)); do
  port=$((BASE_PORT + i - 1))
  log=$TMP/sim$i.log
  : >"$log"
  extra=()
  for k in "${!card_arg_idx[@]}"; do
    ((card_arg_idx[k] == i)) && extra+=("${card_arg_val[k]}")
  done
  setpriv --pdeathsig KILL -- "$sim" --port "$port" --pki "$pki/card$i" --log "$log" \
    "${sim_args[@]}" "${extra[@]}" >"$TMP/sim$i.out" 2>&1 </dev/null &
  pid=$!
  sim_pids+=("$pid")
  reader=$(reader_name $(((i - 1) / 2)) $(((i - 1) % 2)))
  want_reader[$reader]=1
  export "JPKI_SIM_LOG_$i=$log" "JPKI_SIM_PID_$i=$pid" "JPKI_SIM_PORT_$i=$port" \
         "JPKI_SIM_READER_$i=$reader"
done

cards_in() { # every card sits in its own reader, and our other readers are empty
  local name state n=0
  while IFS=$'\t' read -r name state; do
    case ${want_reader[$name]:-}/$state in
      1/Yes) n=$((n + 1)) ;;
      1/No | 0/Yes) return 1 ;;
    esac
  done < <(reader_states)
  ((n == cards))
}
wait_for "$cards card(s) to be present" cards_in

export JPKI_SIM_COUNT=$cards JPKI_HARNESS_DIR=$TMP JPKI_PKI_DIR=$pki \
       JPKI_PCSCD_LOG=$TMP/pcscd.log JPKI_PCSCD_PID=$pcscd_pid JPKI_PCSCD_CONFIG=$TMP/reader.conf.d

# Run the command in the background and wait for it, so that a TERM to the harness is
# handled at once (bash defers traps while a foreground child runs). <&0 keeps stdin, which
# bash would otherwise point at /dev/null for a background job. If the harness is SIGKILLed
# the command gets a TERM rather than running on against a dead pcscd.
setpriv --pdeathsig TERM -- "$@" <&0 &
cmd_pid=$!
rc=0
wait "$cmd_pid" || rc=$?
cmd_pid=""
exit "$rc"
