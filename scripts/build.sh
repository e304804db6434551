#!/usr/bin/env bash
# Builds ivswitch. usage: build.sh [release|debug|asan]   (default release; see CMakePresets.json)
set -eu
cd "$(dirname "$0")/.."
preset=${1:-release}
cmake --preset "$preset" >/dev/null
cmake --build "build/$preset" -j "$(nproc)"
