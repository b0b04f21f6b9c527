#!/usr/bin/env bash
# Installs the Debian 12 packages the build and the tests need, only when one is missing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  pcscd libpcsclite-dev pcsc-tools vsmartcard-vpcd
  libssl-dev openssl libp11-kit-dev p11-kit catch2
  opensc iproute2 util-linux xxd
  gnutls-bin libnss3-tools openssh-client openssh-server libengine-pkcs11-openssl firefox-esr python3
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# pcscd must not run as a system service during tests: each test run starts its own.
