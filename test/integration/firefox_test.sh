#!/usr/bin/env bash
# Firefox ESR with the module: a headless Firefox, driven over Marionette
# (test/integration/marionette.py), makes a TLS 1.3 connection with client authentication to
# `openssl s_server -Verify 1 -verify_return_error -CAfile <card1's auth CA> -www` on 127.0.0.1
# with the card. The server's status page, read back from Firefox, must show card1's auth
# certificate and "Verify return code: 0 (ok)"; the card must have signed with its PSS mode
# (80 2A 04 97 -> 9000). NSS's password requests are answered by a stand-in prompter (below)
# that enters the auth PIN once, for the "JPKI Authentication" token, and cancels any other
# request, as a user would; the script checks which requests came.
#
# MODE (the argument) says how Firefox gets the module, and so which password requests come:
#   policy    (default) only the enterprise policy SecurityDevices {"Add": {"JPKI": <module>}}.
#             The token is logged in first, from Marionette's chrome context, with
#             nsIPKCS11Token.login() (NSS asks: "Please authenticate to the security device
#             (JPKI Authentication)."). Then, while looking for client certificates, Firefox
#             authenticates to every login-required token whose slot is not "friendly", so it
#             asks for the JPKI Signature token's password as well; the stand-in cancels it.
#   auth      the policy loads jpki-pkcs11-auth.so (the second argument), the module file with
#             only the authentication token: the browser set-up the README recommends. No login
#             beforehand. During the page load NSS asks for JPKI Authentication's PIN; the
#             stand-in first types a 3-digit PIN, which the module refuses without sending it
#             (CKR_PIN_INCORRECT), so NSS asks again in the same page load, and the PIN then
#             works. No request ever names a signature token. A second page, TLS 1.2, loads
#             without any request (the token is logged in).
#   friendly  the module is added to the profile beforehand with `modutil -add JPKI
#             -mechanisms FRIENDLY` (pkcs11.txt: slotFlags=PublicCerts; the policy is there too
#             and finds it loaded already). No login beforehand: Firefox lists the public
#             certificates without asking, and NSS asks once, for JPKI Authentication, when the
#             card has to sign; never for JPKI Signature.
#
# How it is set up, inside the harness's mount and network namespaces (the host is unchanged):
# - policies.json: Firefox reads it from its install folder's distribution/ (Debian:
#   /usr/lib/firefox-esr/distribution -> /usr/share/firefox-esr/distribution) or from
#   /etc/firefox-esr/policies/. Firefox runs in one more private mount namespace of its own, in
#   which a temp dir is bind-mounted over distribution/; the mount ends with Firefox.
# - a fresh profile: its NSS db (certutil) trusts the throwaway server CA ("CT,,"); user.js
#   sets security.default_personal_cert = "Select Automatically" (no certificate chooser),
#   Marionette's port, and quiet prefs (no first-run pages, telemetry, updates, Safe Browsing).
# - Firefox is started with -remote-allow-system-access (Marionette's chrome context needs it).
#   Headless Firefox cannot show NSS's password dialog and Marionette cannot answer it, so the
#   stand-in is an nsIPromptFactory registered for "@mozilla.org/prompter;1", where the window
#   watcher gets the prompt NSS's password callback uses. (nsIPK11Token.checkPassword and the
#   pk11tokendb service no longer exist.)
#
# Runs inside the harness with one card (CTest does this), e.g.
#   test/harness/pcsc-harness.sh --cards 1 --pki build/test-pki --sim build/test/sim/jpki-sim \
#     -- test/integration/firefox_test.sh policy
# Prints one "ok: ..." line per check and "N passed, 0 failed" at the end; the first failing
# check prints what it saw and exits 1. Exit status 77 (skipped) without firefox-esr, python3,
# certutil, modutil, unshare or Debian's firefox-esr layout.
#
# Environment: JPKI_MODULE is the module (default: build/jpki-pkcs11.so of this source tree);
# FIREFOX_TEST_DEBUG=1 adds NSS/PSM logging (MOZ_LOG=pipnss:5) to Firefox's output, which a
# failing check shows.
set -euo pipefail
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"
# shellcheck source-path=SCRIPTDIR source=tls_server.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/tls_server.sh"

STEP_TIMEOUT=60   # seconds: Firefox's start (until Marionette answers), the login, the page load
SERVER_LIFETIME=$((4 * STEP_TIMEOUT + 60)) # s_server stays up as long as Firefox may run
TOKEN="JPKI Authentication"
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
MARIONETTE=$HERE/marionette.py
FF_DIST=/usr/lib/firefox-esr/distribution # Debian's firefox-esr; mounted over for Firefox only

ff_pid=""
# stop_firefox: Firefox runs in its own process group (setsid): TERM it, KILL what is left.
stop_firefox() {
  local i
  [[ -n $ff_pid ]] || return 0
  kill -TERM -- "-$ff_pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 -- "-$ff_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$ff_pid" 2>/dev/null || true
  wait "$ff_pid" 2>/dev/null || true
  ff_pid=""
}
# Called by checks.sh's EXIT trap before it removes $tmp.
cleanup_extra() {
  tls_server_kill
  stop_firefox
}

skip() { echo "firefox_test: $*, skipped" >&2; exit 77; }

# ---------------------------------------------------------------------------------------------
MODE=${1:-policy}
[[ $MODE == policy || $MODE == friendly || ($MODE == auth && -n ${2:-}) ]] ||
  { echo "usage: firefox_test.sh [policy|friendly|auth AUTH_MODULE] (inside test/harness/pcsc-harness.sh)" >&2; exit 2; }
[[ $MODE == auth ]] && JPKI_MODULE=$2
TYPO_PIN=123 # what the stand-in types first in auth mode: refused by format, never sent
[[ -n ${JPKI_SIM_LOG_1:-} && -n ${JPKI_PKI_DIR:-} && -n ${PCSCLITE_CSOCK_NAME:-} ]] ||
  { echo "firefox_test: run me inside test/harness/pcsc-harness.sh --cards 1" >&2; exit 2; }
for t in firefox-esr python3 certutil modutil openssl unshare mount setsid stdbuf timeout; do
  command -v "$t" >/dev/null || skip "missing $t (scripts/install-deps.sh)"
done
[[ -d $FF_DIST/ ]] || skip "$FF_DIST (Debian's firefox-esr) does not exist"
jpki_module
MODULE=$(readlink -f "$MODULE")
CARD=$JPKI_PKI_DIR/card1
LOG=$JPKI_SIM_LOG_1
for f in auth_cert.der auth_ca.der; do
  [[ -f $CARD/$f ]] || { echo "firefox_test: $CARD/$f missing" >&2; exit 2; }
done
[[ ! -e $FF_DIST/policies.json ]] ||
  { echo "firefox_test: $FF_DIST/policies.json exists; the test would hide it" >&2; exit 2; }

# ---- 0. a throwaway server PKI, the card's CA and subject ------------------------------------
must version "firefox-esr --version failed" env HOME="$tmp" firefox-esr --version
FF_VERSION=$(tail -n 1 "$tmp/version.out")
server_pki "jpki-pkcs11 Firefox test CA"
ok "$FF_VERSION; server CA and certificate for 127.0.0.1; the card's auth certificate is '$SUBJECT'"

# ---- 1. profile, policies, ports ------------------------------------------------------------
prof=$tmp/profile
mkdir -p "$prof" "$tmp/home" "$tmp/fftmp" "$tmp/dist"
must nssdb "certutil -N (the profile's NSS db) failed" certutil -N -d "sql:$prof" --empty-password
must nssca "certutil -A (trust the server CA) failed" \
  certutil -A -d "sql:$prof" -n "jpki-pkcs11 Firefox test CA" -t "CT,," -i "$tmp/ca.pem"
must nsslist "certutil -L failed" certutil -L -d "sql:$prof"
grep -qE '^jpki-pkcs11 Firefox test CA +CT,,' "$tmp/nsslist.out" ||
  fail "the profile's NSS db does not trust the server CA (CT,,)" "$tmp/nsslist.out"
how="policies.json: SecurityDevices Add JPKI = $MODULE"
if [[ $MODE == friendly ]]; then
  must modutil "modutil -add JPKI -mechanisms FRIENDLY failed" \
    modutil -dbdir "sql:$prof" -add JPKI -libfile "$MODULE" -mechanisms FRIENDLY -force
  grep -q 'slotFlags=PublicCerts' "$prof/pkcs11.txt" ||
    fail "modutil -mechanisms FRIENDLY did not write slotFlags=PublicCerts" "$prof/pkcs11.txt"
  how+=" (already in the profile: modutil -mechanisms FRIENDLY, $(grep -c 'slotFlags=PublicCerts' "$prof/pkcs11.txt") line with slotFlags=PublicCerts in pkcs11.txt)"
fi
must ports "finding a free port failed" python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
MN_PORT=$(tail -n 1 "$tmp/ports.out")
[[ $MN_PORT =~ ^[0-9]+$ ]] || fail "no free port" "$tmp/ports.out"

must policies "writing policies.json failed" python3 -c '
import json, sys
with open(sys.argv[2], "w") as f:
    json.dump({"policies": {"SecurityDevices": {"Add": {"JPKI": sys.argv[1]}}}}, f, indent=2)' \
  "$MODULE" "$tmp/dist/policies.json"
cat >"$prof/user.js" <<EOF
user_pref("marionette.port", $MN_PORT);
user_pref("security.default_personal_cert", "Select Automatically");
user_pref("security.osclientcerts.autoload", false);
user_pref("security.enterprise_roots.enabled", false);
user_pref("security.OCSP.enabled", 0);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.page", 0);
user_pref("browser.startup.homepage", "about:blank");
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("startup.homepage_welcome_url", "about:blank");
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.auto", false);
user_pref("app.update.disabledForTesting", true);
user_pref("extensions.update.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.blockedURIs.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.proxy.type", 0);
user_pref("services.settings.server", "data:,#remote-settings-dummy/v1");
user_pref("browser.region.network.url", "");
user_pref("media.gmp-manager.url", "");
EOF
ok "profile: NSS db trusts the server CA (CT,,); user.js: security.default_personal_cert = Select Automatically, marionette.port = $MN_PORT; $how"

# ---- 2. s_server (stays up: Firefox may connect more than once, e.g. for /favicon.ico) -------
tls_server_start page # its log: $tmp/page.srv
PAGE_PORT=$PORT

# ---- 3. Firefox --------------------------------------------------------------------------------
# Its own session (process group: stopped as one), its own mount namespace with policies.json
# over $FF_DIST, HOME/XDG dirs and TMPDIR in $tmp, PCSCLITE_CSOCK_NAME passed on (the module's
# libpcsclite talks to the harness's pcscd). timeout bounds Firefox's whole life.
{
  printf '$ firefox-esr --headless --marionette -remote-allow-system-access --no-remote --profile %q\n' "$prof"
  echo "(PCSCLITE_CSOCK_NAME=$PCSCLITE_CSOCK_NAME; $tmp/dist with policies.json bind-mounted over $FF_DIST)"
} >"$tmp/firefox.log"
debug_env=()
[[ ${FIREFOX_TEST_DEBUG:-} == 1 ]] && debug_env=("MOZ_LOG=timestamp,pipnss:5")
# shellcheck disable=SC2016 # the sh -c script expands its own arguments
setsid timeout -s KILL $((4 * STEP_TIMEOUT + 60)) \
  env HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache" \
  XDG_DATA_HOME="$tmp/home/.local/share" XDG_RUNTIME_DIR="$tmp/home" TMPDIR="$tmp/fftmp" \
  MOZ_HEADLESS=1 MOZ_CRASHREPORTER_DISABLE=1 PCSCLITE_CSOCK_NAME="$PCSCLITE_CSOCK_NAME" "${debug_env[@]}" \
  unshare --mount --propagation private -- sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' \
  sh "$tmp/dist" "$FF_DIST" \
  firefox-esr --headless --marionette -remote-allow-system-access --no-remote --profile "$prof" \
  </dev/null >>"$tmp/firefox.log" 2>&1 &
ff_pid=$!

# marionette NAME STEP...: marionette.py against this Firefox; output in $tmp/NAME.out.
marionette() {
  local name=$1
  shift
  CMD_TIMEOUT=$((3 * STEP_TIMEOUT)) run "$name" python3 "$MARIONETTE" --port "$MN_PORT" \
    --connect-timeout "$STEP_TIMEOUT" --timeout "$STEP_TIMEOUT" "$@"
}

# jget KEY: a field of $res, a chrome script's JSON result (strings as they are, the rest as JSON).
jget() {
  python3 -c 'import json, sys
v = json.loads(sys.argv[1]).get(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$res" "$1"
}

# ---- 4. the module is loaded; the stand-in prompter; in policy mode the login ----------------
# Chrome-context script; arguments: token name, the answers (a JSON list of [text, what it is]),
# seconds to wait for the token, "login" or "nologin". The stand-in stays registered for the
# rest of Firefox's life: it gives the answers in turn to the requests naming the token, cancels
# every other request, and records each request's text in the pref jpki-test.prompts (a JSON
# list), which prompts.js reads.
cat >"$tmp/setup.js" <<'JS'
let done = arguments[arguments.length - 1];
let [tokenName, answersJson, waitSeconds, what] = arguments;
const answers = JSON.parse(answersJson);
(async () => {
  const { setTimeout } = ChromeUtils.importESModule("resource://gre/modules/Timer.sys.mjs");
  const mdb = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
  // SecurityDevices adds the module asynchronously at startup: wait for its token.
  let found = null;
  const deadline = Date.now() + Number(waitSeconds) * 1000;
  for (;;) {
    for (const mod of await mdb.listModules()) {
      for (const slot of mod.slots) {
        if (slot.tokenName === tokenName) {
          found = { mod, slot };
        }
      }
    }
    if (found || Date.now() > deadline) {
      break;
    }
    await new Promise(r => setTimeout(r, 250));
  }
  if (!found) {
    const mods = (await mdb.listModules()).map(m => `${m.name} (${m.libName})`);
    return { error: `no token "${tokenName}" within ${waitSeconds}s; modules: ${mods.join(", ")}` };
  }
  const token = found.slot.getToken();
  const res = {
    policyStatus: Services.policies.status,
    policies: Object.keys(Services.policies.getActivePolicies() || {}),
    module: found.mod.name, library: found.mod.libName, slot: found.slot.name,
    token: token.tokenName, loggedInBefore: token.isLoggedIn,
  };
  const PREF = "jpki-test.prompts";
  Services.prefs.setStringPref(PREF, "[]");
  const record = entry => {
    const list = JSON.parse(Services.prefs.getStringPref(PREF, "[]"));
    list.push(entry);
    Services.prefs.setStringPref(PREF, JSON.stringify(list));
  };
  let armed = true;
  const prompt = {
    QueryInterface: ChromeUtils.generateQI(["nsIPrompt"]),
    promptPassword(title, text, password) {
      if (armed && answers.length && String(text).includes(`(${tokenName})`)) {
        const [value, kind] = answers.shift();
        password.value = value;
        record(`${text} -> ${kind} entered`);
        return true;
      }
      record(`${text} -> cancelled`);
      return false;
    },
  };
  for (const m of ["alert", "alertCheck", "confirm", "confirmCheck", "confirmEx", "prompt",
                   "promptUsernameAndPassword", "select"]) {
    prompt[m] = () => {
      record(`unexpected nsIPrompt.${m}`);
      throw Components.Exception("", Cr.NS_ERROR_NOT_AVAILABLE);
    };
  }
  const factory = {
    QueryInterface: ChromeUtils.generateQI(["nsIFactory", "nsIPromptFactory"]),
    createInstance(iid) { return this.QueryInterface(iid); },
    getPrompt(parent, iid) { return prompt.QueryInterface(iid); },
  };
  Components.manager.QueryInterface(Ci.nsIComponentRegistrar).registerFactory(
    Components.ID("{6f0c4b7e-3b1a-4d9e-9a51-2c1f0d9a7e11}"), "jpki test prompter",
    "@mozilla.org/prompter;1", factory);
  if (what === "login") {
    try {
      token.login(false);
    } catch (e) {
      res.loginError = String(e);
    }
    armed = false;
    if (!token.isLoggedIn) {
      res.error = `token "${tokenName}" is not logged in after login() (${res.loginError || "no error"})`;
    }
  }
  res.loggedIn = token.isLoggedIn;
  res.prompts = JSON.parse(Services.prefs.getStringPref(PREF, "[]"));
  Services.prefs.setStringPref(PREF, "[]");
  return res;
})().then(done, e => done({ error: `${e}` }));
JS
what=nologin
[[ $MODE == policy ]] && what=login
from=$(apdu_mark)
answers='[["'$AUTH_PIN'", "PIN"]]'
[[ $MODE == auth ]] && answers='[["'$TYPO_PIN'", "typo"], ["'$AUTH_PIN'", "PIN"]]'
marionette setup "arg:$TOKEN" "arg:$answers" "arg:$((STEP_TIMEOUT / 2))" "arg:$what" "chrome:$tmp/setup.js" ||
  fail "Firefox: loading the module / the setup script failed (exit status $?)" "$tmp/setup.out" "$tmp/firefox.log"
new_apdus setup "$from"
res=$(sed -n "s|^chrome $tmp/setup.js: ||p" "$tmp/setup.out")
[[ -n $res ]] || fail "the setup script returned nothing" "$tmp/setup.out"
[[ $(jget policyStatus) == 1 && $(jget policies) == *'"SecurityDevices"'* ]] ||
  fail "Firefox's enterprise policies are not active with SecurityDevices (status $(jget policyStatus), policies $(jget policies))" "$tmp/setup.out"
[[ $(jget library) == "$MODULE" && $(jget module) == JPKI ]] ||
  fail "the token does not come from module JPKI = $MODULE (module '$(jget module)', library '$(jget library)')" "$tmp/setup.out"
[[ $(jget loggedInBefore) == false ]] || fail "the token was logged in before anyone asked" "$tmp/setup.out"
prompts=$(jget prompts)
if [[ $MODE == policy ]]; then
  [[ $(jget loggedIn) == true ]] || fail "the token is not logged in after login()" "$tmp/setup.out"
  [[ $prompts == '["'*"($TOKEN)"*' -> PIN entered"]' && $prompts != *'","'* ]] ||
    fail "login(): expected one password request of NSS for ($TOKEN), answered; got $prompts" "$tmp/setup.out"
  grep -qE '^00 20 00 98 Lc=4 .*-> 9000' "$tmp/setup.apdu" ||
    fail "the card got no successful VERIFY of the auth PIN (00 20 00 98 Lc=4 ... -> 9000) during the login" "$tmp/setup.apdu"
  ok "policy SecurityDevices loaded module JPKI ($MODULE): slot '$(jget slot)', token '$TOKEN'; nsIPKCS11Token.login(): NSS asked $prompts; card: $(grep -E '^00 20 00 98 Lc=4 ' "$tmp/setup.apdu" | tail -n 1); token logged in"
else
  [[ $(jget loggedIn) == false && $prompts == '[]' ]] ||
    fail "the token was logged in / a password was asked for before the page load ($prompts)" "$tmp/setup.out"
  from_where="from the profile"
  [[ $MODE == auth ]] && from_where="by the policy"
  ok "module JPKI ($MODULE) loaded $from_where: slot '$(jget slot)', token '$TOKEN', not logged in, no password asked for yet"
fi

# ---- 5. TLS 1.3 with client authentication ---------------------------------------------------
URL=https://127.0.0.1:$PAGE_PORT/
cat >"$tmp/prompts.js" <<'JS'
let done = arguments[arguments.length - 1];
const prompts = JSON.parse(Services.prefs.getStringPref("jpki-test.prompts", "[]"));
Services.prefs.setStringPref("jpki-test.prompts", "[]"); // each page load reports its own
done({ prompts });
JS
# load_page NAME URL: Firefox loads URL; the page as text in $tmp/NAME.txt, the new APDUs in
# $tmp/NAME.apdu, the prompts script's result (NSS's password requests) in $res.
load_page() {
  local name=$1 url=$2 from
  from=$(apdu_mark)
  marionette "$name" "navigate:$url" "source:$tmp/$name.html" "chrome:$tmp/prompts.js" ||
    fail "Firefox: loading $url failed (exit status $?)" "$tmp/$name.out" "$tmp/$name.srv" "$tmp/firefox.log"
  new_apdus "$name" "$from"
  must "${name}_text" "converting the page source to text failed" python3 -c '
import html, re, sys
s = open(sys.argv[1], encoding="utf-8").read()
s = re.sub(r"<[^>]*>", "", s)
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write(html.unescape(s).replace("\r", ""))' "$tmp/$name.html" "$tmp/$name.txt"
  res=$(sed -n "s|^chrome $tmp/prompts.js: ||p" "$tmp/$name.out")
}
load_page page "$URL"
files=("$tmp/page.txt" "$tmp/page.srv" "$tmp/page.out")

# NSS's password requests during the page load (see MODE above).
[[ -n $res ]] || fail "the prompts script returned nothing" "$tmp/page.out"
prompts=$(jget prompts)
[[ $prompts != *unexpected* ]] || fail "an unexpected kind of prompt: $prompts" "${files[@]}"
if [[ $MODE == policy ]]; then
  [[ $prompts == *"(JPKI Signature). -> cancelled"* && $prompts != *"($TOKEN)"* && $prompts != *"PIN entered"* ]] ||
    fail "during the page load, expected only (cancelled) requests for JPKI Signature; got $prompts" "${files[@]}"
elif [[ $MODE == auth ]]; then
  # Two requests, both for the authentication token: the typo, then (asked again) the PIN.
  [[ $prompts == '["'*"($TOKEN)"*' -> typo entered", "'*"($TOKEN)"*' -> PIN entered"]' ]] ||
    fail "during the page load, expected a request for ($TOKEN) answered with the typo, then one answered with the PIN; got $prompts" "${files[@]}"
  [[ $prompts != *Signature* ]] || fail "a request named a signature token: $prompts" "${files[@]}"
  grep -qE '^00 20 00 [0-9A-F]{2} Lc=3 ' "$tmp/page.apdu" && fail "the 3-digit typo reached the card" "$tmp/page.apdu"
  grep -E '^00 20 00 [0-9A-F]{2} Lc=[1-9]' "$tmp/page.apdu" | grep -v -- ' -> 9000 ' >"$tmp/page.refused" &&
    fail "the card refused a PIN during the page load (a try spent)" "$tmp/page.refused"
else
  [[ $prompts == '["'*"($TOKEN)"*' -> PIN entered"]' && $prompts != *'","'* ]] ||
    fail "during the page load, expected exactly one request, for ($TOKEN), answered; got $prompts" "${files[@]}"
fi
# The module verifies its cached auth PIN (P2=98) again for each signature (the card is reset
# after every transaction); no other PIN (the signature PIN is P2=9B) may be tried.
grep -E '^00 20 00 [0-9A-F]{2} Lc=[1-9]' "$tmp/page.apdu" | grep -v '^00 20 00 98 ' >"$tmp/page.verify" &&
  fail "a PIN other than the auth PIN (P2=98) was tried during the page load" "$tmp/page.verify"
ok "NSS's password requests during the page load: $prompts; no VERIFY on the card but the auth PIN's (P2=98)"

card_cert_ok page "$tmp/page.txt" TLSv1.3 RSA-PSS "${files[@]}"
signatures "$tmp/page.apdu" >"$tmp/page.sign" || true
grep -qx '80 2A 04 97 Lc=32 -> 9000 len=256' "$tmp/page.sign" ||
  fail "no '80 2A 04 97 Lc=32 -> 9000 len=256' (PSS signature) in the APDU log" "$tmp/page.apdu"
grep -vqxF '80 2A 04 97 Lc=32 -> 9000 len=256' "$tmp/page.sign" &&
  fail "another signature APDU in the APDU log" "$tmp/page.sign"
ok "Firefox loaded $URL: TLSv1.3; s_server verified the client certificate CN=$CN (= card1/auth_cert.der); the page says 'Verify return code: 0 (ok)', 'Peer signature type: RSA-PSS'; card: $(paste -sd';' "$tmp/page.sign")"

if [[ $MODE == auth ]]; then
  # A TLS 1.2 page: the token is logged in, so no request; the card signs again.
  first_server=$server_pid
  tls_server_start page12 -tls1_2
  URL12=https://127.0.0.1:$PORT/
  load_page page12 "$URL12"
  [[ $(jget prompts) == '[]' ]] || fail "the TLS 1.2 page load asked for a password: $(jget prompts)" "$tmp/page12.out"
  card_cert_ok page12 "$tmp/page12.txt" TLSv1.2 RSA-PSS "$tmp/page12.txt" "$tmp/page12.srv" "$tmp/page12.out"
  signatures "$tmp/page12.apdu" >"$tmp/page12.sign" || true
  # (One signature per TLS connection: Firefox may open a second one, for /favicon.ico.)
  [[ -s $tmp/page12.sign ]] && ! grep -vqxF '80 2A 04 97 Lc=32 -> 9000 len=256' "$tmp/page12.sign" ||
    fail "the TLS 1.2 page: expected PSS signatures on the card, nothing else" "$tmp/page12.apdu"
  ok "Firefox loaded $URL12: TLSv1.2, no password request (logged in), s_server verified the client certificate; card: $(paste -sd';' "$tmp/page12.sign")"
  tls_server_kill
  server_pid=$first_server # the first server, for the cleanup
fi

# ---- 5b. "Change Password" of the security device: nsIPK11Token.changePassword -------------------
# Chrome-context script; arguments: token name, old PIN, new PIN. Returns {changed} or {failed}.
cat >"$tmp/changepw.js" <<'JS'
let done = arguments[arguments.length - 1];
let [tokenName, oldPin, newPin] = arguments;
(async () => {
  const mdb = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
  for (const mod of await mdb.listModules()) {
    for (const slot of mod.slots) {
      if (slot.tokenName === tokenName) {
        try {
          slot.getToken().changePassword(oldPin, newPin);
          return { changed: true };
        } catch (e) {
          return { failed: String(e) };
        }
      }
    }
  }
  return { error: `no token "${tokenName}"` };
})().then(done, e => done({ error: `${e}` }));
JS
NEW_PIN=4711
# changepw NAME OLD NEW: the script's result in $res, the card's APDUs in $tmp/NAME.apdu.
changepw() {
  local from
  from=$(wc -l <"$LOG")
  marionette "$1" "arg:$TOKEN" "arg:$2" "arg:$3" "chrome:$tmp/changepw.js" ||
    fail "Firefox: the change-password script failed (exit status $?)" "$tmp/$1.out" "$tmp/firefox.log"
  tail -n +"$((from + 1))" "$LOG" >"$tmp/$1.apdu"
  res=$(sed -n "s|^chrome $tmp/changepw.js: ||p" "$tmp/$1.out")
}
changepw chg_bad "$AUTH_PIN" 12a4
[[ $(jget failed) != null ]] || fail "changePassword to the malformed PIN 12a4 did not fail: $res" "$tmp/chg_bad.out"
grep -q '^00 24 ' "$tmp/chg_bad.apdu" && fail "changePassword sent the malformed PIN to the card" "$tmp/chg_bad.apdu"
changepw chg "$AUTH_PIN" "$NEW_PIN"
[[ $(jget changed) == true ]] || fail "changePassword($AUTH_PIN -> $NEW_PIN) failed: $res" "$tmp/chg.out"
[[ $(grep -c '^00 24 ' "$tmp/chg.apdu") == 1 ]] && grep -qx '00 24 01 80 Lc=4 data=<redacted> -> 9000 len=0' "$tmp/chg.apdu" ||
  fail "changePassword: not exactly one CHANGE REFERENCE DATA answered 9000" "$tmp/chg.apdu"
grep -E '^00 20 00 [0-9A-F]{2} Lc=[1-9]' "$tmp/chg.apdu" | grep -v -- '-> 9000 ' >"$tmp/chg.wrong" &&
  fail "changePassword: a VERIFY not answered 9000 (a try spent)" "$tmp/chg.wrong"
changepw chg_back "$NEW_PIN" "$AUTH_PIN"
[[ $(jget changed) == true ]] || fail "changePassword back to the first PIN failed: $res" "$tmp/chg_back.out"
ok "Firefox nsIPK11Token.changePassword on '$TOKEN': malformed new PIN refused, never sent; $AUTH_PIN -> $NEW_PIN: one CHANGE REFERENCE DATA (9000), every VERIFY 9000; changed back"

# ---- 6. Firefox ends; its mount went with it -------------------------------------------------
stop_firefox
[[ ! -e $FF_DIST/policies.json ]] || fail "$FF_DIST/policies.json is visible after Firefox ended"
ok "Firefox stopped; $FF_DIST has no policies.json outside Firefox's own mount namespace"

finish
