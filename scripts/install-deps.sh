#!/usr/bin/env bash
# Installs the Debian 12 packages the build and the tests need, only when one is missing; and
# the Debian source of OpenSC, whose p11test the peer-suite test builds at test time.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
updated=0
apt_update() { ((updated)) || { apt-get update -qq; updated=1; }; }

# pkcs11-provider (OpenSSL 3's PKCS#11 provider) exists for Debian 12 in bookworm-backports
# only: that suite is added, pinned so that it gives this one package and nothing else.
# (apt's output is read whole first: grep -q closing the pipe early would fail it under pipefail.)
policy=$(apt-cache policy pkcs11-provider 2>/dev/null || true)
if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
  cat >/etc/apt/sources.list.d/jpki-pkcs11-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat >/etc/apt/preferences.d/jpki-pkcs11-backports <<'PIN'
Package: *
Pin: release n=bookworm-backports
Pin-Priority: 100

Package: pkcs11-provider
Pin: release n=bookworm-backports
Pin-Priority: 990
PIN
  apt-get update -qq
  updated=1
fi
# Source packages (apt-get source) of bookworm main, for the peer test suites.
sources=$(apt-cache showsrc opensc 2>/dev/null || true)
if ! grep -q '^Package: opensc' <<<"$sources"; then
  cat >/etc/apt/sources.list.d/jpki-pkcs11-deb-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update -qq
  updated=1
fi
packages=(
  build-essential cmake ninja-build pkg-config
  pcscd libpcsclite-dev pcsc-tools vsmartcard-vpcd
  libssl-dev openssl libp11-kit-dev p11-kit catch2
  opensc iproute2 util-linux xxd
  gnutls-bin libnss3-tools openssh-client openssh-server libengine-pkcs11-openssl firefox-esr python3
  pkcs11-provider dpkg-dev libcmocka-dev poppler-utils
  debhelper lintian git
  xmlsec1 libxmlsec1-dev libxmlsec1-nss libnss3-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt_update
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# pcscd must not run as a system service during tests: each test run starts its own.
# OpenSC's source (Debian's package, with Debian's patches): the peer-suite test builds its
# p11test from it at test time. Fetched once; tests run without network.
peer_src=${JPKI_PEER_SOURCES:-/var/cache/jpki-pkcs11/peer-src}
if ! compgen -G "$peer_src/opensc-*/src/tests/p11test/p11test.c" >/dev/null; then
  mkdir -p "$peer_src"
  (cd "$peer_src" && apt-get source -qq opensc >"$peer_src/apt-get-source.log" 2>&1) ||
    { cat "$peer_src/apt-get-source.log" >&2; exit 1; }
  compgen -G "$peer_src/opensc-*/src/tests/p11test/p11test.c" >/dev/null ||
    { echo "install-deps: apt-get source opensc gave no p11test" >&2; exit 1; }
fi
