#!/bin/sh
# Formats every C++ source of the tree with the checked-in .clang-format.
set -eu
cd "$(dirname "$0")/.."
git ls-files '*.cpp' '*.h' | xargs clang-format -i
