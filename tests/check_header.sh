#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The public header compiles on its own as strict C99 and as C++, with every warning an error.
set -u
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
passed=0; failed=0
printf '#include "biomedclip.h"\nint main(void) { return bmc_version() == BMC_VERSION_NUMBER ? 0 : 1; }\n' > "$dir/use.c"
cp "$dir/use.c" "$dir/use.cpp"
try() {
    if "$@" 2>"$dir/err"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $*"; cat "$dir/err"; fi
}
try cc -std=c99 -Wall -Wextra -pedantic -Werror -Iinclude -c "$dir/use.c" -o "$dir/c.o"
try cc -std=c11 -Wall -Wextra -pedantic -Werror -Iinclude -c "$dir/use.c" -o "$dir/c11.o"
try g++ -std=c++11 -Wall -Wextra -pedantic -Werror -Iinclude -c "$dir/use.cpp" -o "$dir/cpp.o"
try clang -std=c99 -Wall -Wextra -pedantic -Werror -Iinclude -c "$dir/use.c" -o "$dir/clang.o"
echo "header: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
