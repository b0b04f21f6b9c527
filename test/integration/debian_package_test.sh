#!/usr/bin/env bash
# The Debian package (issue 15), built and used the way a Debian user would:
#   1. a clean copy of the tree (the files git tracks, plus new ones it does not ignore) is built
#      with `dpkg-buildpackage -us -uc -b` (which runs the unit and module tests);
#   2. lintian --pedantic on the .deb and .changes: no error, no warning;
#   3. the .deb holds exactly the expected files (three modules in the multiarch PKCS#11
#      directory, the p11-kit module file, the manual page, the docs): no test binary, no simulator;
#   4. `apt-get install ./jpki-pkcs11_*.deb`; then, with a simulated card behind a private pcscd
#      (the harness, which calls this script again with --inside): `p11-kit list-modules` shows the
#      module and the card's two tokens, `pkcs11-tool --module p11-kit-proxy.so -L` shows them
#      through p11-kit, and Firefox with the installed jpki-pkcs11-auth.so completes TLS 1.3 (and
#      1.2) client authentication (firefox_test.sh auth);
#   5. `apt-get purge jpki-pkcs11` leaves none of the package's files behind.
# This installs a package on the machine (and removes it at the end, also when a check fails),
# so it refuses to run when jpki-pkcs11 is installed already or when any of the package's files
# exists beforehand (a `cmake --install`): it would remove those.
#
# usage: debian_package_test.sh SIM PKI_DIR     (CTest runs it; root, with network for nothing)
#        debian_package_test.sh --inside         (in the harness: the checks of step 4)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
REPO=$(cd "$HERE/../.." && pwd)
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
LIBDIR=/usr/lib/$MULTIARCH/pkcs11
PROXY=/usr/lib/$MULTIARCH/p11-kit-proxy.so
CONFIGS=$(pkg-config --variable=p11_module_configs p11-kit-1)
BUILD_TIMEOUT=1200 # seconds: the package build with its unit tests (about 2 minutes on 2 cores)

# ---- step 4, inside the harness -----------------------------------------------------------------
if [[ ${1:-} == --inside ]]; then
  [[ -n ${JPKI_SIM_LOG_1:-} ]] || { echo "$SCRIPT_NAME --inside: run me inside the harness" >&2; exit 2; }
  serial=$(cat "$JPKI_PKI_DIR/card1/serial.txt")
  must list_modules "p11-kit list-modules failed" p11-kit list-modules
  # The module file names the module relatively (p11-kit's module directory), so p11-kit shows
  # "jpki-pkcs11: jpki-pkcs11.so"; an absolute path would be the installed file too.
  listed=$(modules "$tmp/list_modules.out" | awk -F'|' '$1 == "jpki-pkcs11" { print $2 }')
  [[ $listed == jpki-pkcs11.so || $listed == "$LIBDIR/jpki-pkcs11.so" ]] ||
    fail "p11-kit list-modules does not show jpki-pkcs11 (path '$listed')" "$tmp/list_modules.out"
  # Only the jpki-pkcs11 module's part of the listing (the machine may have other modules).
  awk -v m="jpki-pkcs11: $listed" '/^[^ ]/ { on = ($0 == m) } on' "$tmp/list_modules.out" >"$tmp/ours.out"
  got=$(module_tokens "$tmp/ours.out" | cut -d'|' -f1,2,4 | sort | paste -sd ' ' -)
  [[ $got == "JPKI Authentication|J-LIS|$serial JPKI Signature|J-LIS|$serial" ]] ||
    fail "p11-kit list-modules: the jpki-pkcs11 module shows tokens '$got'" "$tmp/list_modules.out"
  ok "p11-kit list-modules: jpki-pkcs11: $listed (from $CONFIGS/jpki-pkcs11.module), tokens JPKI Authentication and JPKI Signature, serial $serial"

  must proxy "pkcs11-tool through p11-kit-proxy.so failed" pkcs11-tool --module "$PROXY" -L
  for label in "JPKI Authentication" "JPKI Signature"; do
    n=$(awk -v l="$label" '/^  token label *: / { sub(/^  token label *: /, ""); sub(/ +$/, ""); t = $0 }
      /^  token manufacturer *: J-LIS/ && t == l { c++ } /^  serial num *: / && t == l && $0 ~ s { k++ }
      END { print c + 0 "/" k + 0 }' s="$serial" "$tmp/proxy.out")
    [[ $n == 1/1 ]] || fail "pkcs11-tool through $PROXY: token '$label' (J-LIS, serial $serial) found $n times" "$tmp/proxy.out"
  done
  ok "pkcs11-tool --module $PROXY -L: the card's JPKI Authentication and JPKI Signature tokens, once each, serial $serial"

  CMD_TIMEOUT=600 must firefox "Firefox with the installed $LIBDIR/jpki-pkcs11-auth.so failed" \
    "$HERE/firefox_test.sh" auth "$LIBDIR/jpki-pkcs11-auth.so"
  grep -q '^ok: Firefox loaded .*TLSv1.3' "$tmp/firefox.out" || fail "no TLS 1.3 page load reported by firefox_test.sh" "$tmp/firefox.out"
  ok "Firefox with the installed $LIBDIR/jpki-pkcs11-auth.so: $(grep -c '^ok: ' "$tmp/firefox.out") checks passed, TLS 1.3 client authentication among them"
  finish
  exit 0
fi

# ---- steps 1-3, 5 -------------------------------------------------------------------------------
SIM=$(readlink -f "${1:?usage: debian_package_test.sh SIM PKI_DIR}")
PKI=$(readlink -f "${2:?usage: debian_package_test.sh SIM PKI_DIR}")
[[ $(id -u) == 0 ]] || { echo "$SCRIPT_NAME: needs root (apt-get install)" >&2; exit 77; }
need_tools dpkg-buildpackage dh lintian apt-get dpkg-deb git p11-kit pkcs11-tool
! dpkg-query -W -f='${Status}' jpki-pkcs11 2>/dev/null | grep -q 'ok installed' ||
  fail "jpki-pkcs11 is installed on this machine: this test installs and purges it, so it does not run here"
installed=0
cleanup_extra() { ((installed)) && apt-get purge -y -qq jpki-pkcs11 >/dev/null 2>&1; return 0; }

# 1. the package, from a clean copy of the tree.
mkdir "$tmp/src"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$tmp/src" --) ||
  fail "copying the tree failed"
[[ ! -e $tmp/src/build && ! -e $tmp/src/debian/build ]] || fail "the copy of the tree has build directories"
rc=0
(cd "$tmp/src" && DEB_BUILD_OPTIONS="parallel=$(nproc)" timeout "$BUILD_TIMEOUT" dpkg-buildpackage -us -uc -b) \
  >"$tmp/build.out" 2>&1 || rc=$?
((rc == 0)) || fail "dpkg-buildpackage -us -uc -b failed ($rc)" "$tmp/build.out"
version=$(dpkg-parsechangelog -l "$tmp/src/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$tmp/jpki-pkcs11_${version}_$arch.deb
[[ -f $deb ]] || fail "no $(basename "$deb")" "$tmp/build.out"
unit=$(grep -oE '[0-9]+% tests passed, 0 tests failed out of [0-9]+' "$tmp/build.out" || true)
[[ -n $unit ]] || fail "the package build ran no tests" "$tmp/build.out"
ok "dpkg-buildpackage -us -uc -b: $(basename "$deb"); its unit and module tests: $unit"

# 2. lintian.
lintian --pedantic --display-info "$tmp/jpki-pkcs11_${version}_$arch.changes" >"$tmp/lintian.out" 2>&1 ||
  fail "lintian failed" "$tmp/lintian.out"
! grep -qE '^[EW]: ' "$tmp/lintian.out" || fail "lintian reports errors or warnings" "$tmp/lintian.out"
ok "lintian --pedantic: no error, no warning ($(grep -cE '^[IPX]: ' "$tmp/lintian.out" || true) info/pedantic tags)"

# 3. the contents.
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' | grep -v '/$' | sort >"$tmp/files"
cat >"$tmp/expected" <<EOF
$CONFIGS/jpki-pkcs11.module
$LIBDIR/jpki-pkcs11-auth.so
$LIBDIR/jpki-pkcs11-sign.so
$LIBDIR/jpki-pkcs11.so
/usr/share/doc/jpki-pkcs11/README.md.gz
/usr/share/doc/jpki-pkcs11/changelog.gz
/usr/share/doc/jpki-pkcs11/copyright
/usr/share/doc/jpki-pkcs11/examples/policies.json
/usr/share/lintian/overrides/jpki-pkcs11
/usr/share/man/man8/jpki-pkcs11.8.gz
EOF
sort -o "$tmp/expected" "$tmp/expected"
diff -u "$tmp/expected" "$tmp/files" >"$tmp/contents.diff" || fail "the package's files are not the expected ones" "$tmp/contents.diff"
deps=$(dpkg-deb -f "$deb" Depends)
[[ $deps == *pcscd* && $deps == *libpcsclite1* && $deps == *libssl3* ]] || fail "Depends is '$deps'"
ok "the package holds $(wc -l <"$tmp/files") files, as expected (no test binary, no simulator); Depends: $deps"

# 4. installed, then used.
while read -r f; do
  [[ ! -e $f ]] || fail "$f exists before the package is installed (a cmake --install?); not touching it"
done <"$tmp/files"
installed=1
must install "apt-get install ./$(basename "$deb") failed" apt-get install -y -qq --no-install-recommends "$deb"
dpkg-query -W -f='${Status}' jpki-pkcs11 | grep -q 'ok installed' || fail "dpkg does not list jpki-pkcs11 as installed"
must list_files "dpkg -L failed" dpkg -L jpki-pkcs11
CMD_TIMEOUT=900 must harness "the checks with the installed package against a simulated card failed" \
  "$REPO/test/harness/pcsc-harness.sh" --cards 1 --pki "$PKI" --sim "$SIM" -- "$0" --inside
grep '^ok: ' "$tmp/harness.out" | sed 's/^ok: /  /'
ok "with the package installed: $(grep -c '^ok: ' "$tmp/harness.out") checks passed with a simulated card"

# 5. purge.
must purge "apt-get purge jpki-pkcs11 failed" apt-get purge -y -qq jpki-pkcs11
installed=0
left=()
while read -r f; do [[ -e $f ]] && left+=("$f"); done <"$tmp/files"
[[ -d /usr/share/doc/jpki-pkcs11 ]] && left+=(/usr/share/doc/jpki-pkcs11)
((${#left[@]} == 0)) || fail "apt-get purge left ${left[*]}"
! dpkg-query -W -f='${Status}' jpki-pkcs11 2>/dev/null | grep -q 'installed' || fail "dpkg still lists jpki-pkcs11"
ok "apt-get purge jpki-pkcs11: none of its $(wc -l <"$tmp/files") files is left"
finish
