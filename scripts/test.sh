#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the project twice (normal, and with
# AddressSanitizer + UndefinedBehaviorSanitizer), runs every test of the normal build (unit and
# integration: real pcscd + vpcd + jpki-sim) and the unit and module tests of the sanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (apt-get, private pcscd in its own namespace)" >&2; exit 1; }

./scripts/install-deps.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DJPKI_SANITIZE=ON
cmake --build build-asan --target unit_tests module_tests

echo "== unit and integration tests"
(cd build && ctest --output-on-failure -j2)
echo "== unit tests under ASan + UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j2 -L unit)
