#!/usr/bin/env bash
# Benchmark: APDUs, bytes on the wire and wall time of everyday operations through
# pkcs11-tool, for this module and for OpenSC's, against the same simulated card (with a
# per-APDU latency to model a real card). Run it inside the pcscd harness with one card:
#
#   test/harness/pcsc-harness.sh --cards 1 --sim-arg --latency-ms --sim-arg 20 -- bench/apdu-count.sh
#
# Prints a Markdown table. A measurement, not a test: it asserts nothing beyond the commands
# succeeding.
set -euo pipefail
REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
OURS=${JPKI_MODULE:-$REPO/build/jpki-pkcs11.so}
OPENSC=${OPENSC_MODULE:-/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so}
LOG=$JPKI_SIM_LOG_1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "benchmark data" >"$tmp/data"

# APDUs and bytes (command data + response data) in the log since line $1.
count_since() {
  tail -n +"$(($1 + 1))" "$LOG" | grep -v '^#' | awk '
    { n++; for (i = 1; i <= NF; i++) { if ($i ~ /^Lc=/) { sub("Lc=", "", $i); b += $i + 5 } if ($i ~ /^len=/) { sub("len=", "", $i); b += $i + 2 } } }
    END { printf "%d %d", n, b }'
}

# run NAME MODULE ARGS...: one pkcs11-tool process; prints "apdus bytes seconds".
measure() {
  local module=$1; shift
  local before start end
  before=$(wc -l <"$LOG")
  start=$(date +%s.%N)
  pkcs11-tool --module "$module" "$@" >/dev/null 2>&1 </dev/null
  end=$(date +%s.%N)
  printf '%s %s\n' "$(count_since "$before")" "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')"
}

# Slot selection by token label differs between the two modules.
ours_auth=(--token-label "JPKI Authentication")
ours_sign=(--token-label "JPKI Signature")
osc_auth=(--token-label "JPKI (User Authentication PIN)")
osc_sign=(--token-label "JPKI (Digital Signature PIN)")

row() {  # row LABEL ours-args -- opensc-args
  local label=$1; shift
  local ours=() osc=()
  while [[ $1 != -- ]]; do ours+=("$1"); shift; done
  shift
  osc=("$@")
  read -r oa ob os <<<"$(measure "$OURS" "${ours[@]}")"
  read -r ca cb cs <<<"$(measure "$OPENSC" "${osc[@]}")"
  printf '| %s | %s | %s | %s s | %s | %s | %s s |\n' "$label" "$oa" "$ob" "$os" "$ca" "$cb" "$cs"
}

echo "| operation (one pkcs11-tool process) | APDUs (ours) | bytes (ours) | time (ours) | APDUs (OpenSC) | bytes (OpenSC) | time (OpenSC) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
row "list tokens (-L)" -L -- -L
row "list auth token objects (-O)" "${ours_auth[@]}" -O -- "${osc_auth[@]}" -O
row "read auth certificate" "${ours_auth[@]}" --read-object --type cert --id 01 -o "$tmp/c1" -- \
  "${osc_auth[@]}" --read-object --type cert --id 01 -o "$tmp/c2"
row "login + SHA256-RSA-PKCS sign, auth key" "${ours_auth[@]}" --login --pin 1234 --sign --id 01 -m SHA256-RSA-PKCS -i "$tmp/data" -o "$tmp/s1" -- \
  "${osc_auth[@]}" --login --pin 1234 --sign --id 01 -m SHA256-RSA-PKCS -i "$tmp/data" -o "$tmp/s2"
row "login + SHA256-RSA-PKCS sign, sign key" "${ours_sign[@]}" --login --pin SIGN1234 --sign --id 02 -m SHA256-RSA-PKCS -i "$tmp/data" -o "$tmp/s3" -- \
  "${osc_sign[@]}" --login --pin SIGN1234 --sign --id 02 -m SHA256-RSA-PKCS -i "$tmp/data" -o "$tmp/s4"
