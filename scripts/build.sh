#!/usr/bin/env bash
# Builds ivswitch. usage: build.sh [release|debug|asan|fuzz]   (default release; see CMakePresets.json;
# fuzz: the libFuzzer targets only, with clang)
set -eu
cd "$(dirname "$0")/.."
preset=${1:-release}
cmake --preset "$preset" >/dev/null
if [ "$preset" = fuzz ]; then cmake --build build/fuzz -j "$(nproc)" --target fuzzers
else cmake --build "build/$preset" -j "$(nproc)"; fi
