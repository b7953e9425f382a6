#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The public header compiles on its own as strict C99 and C11 and as C++11 and C++17, with gcc and
# clang, -Wall -Wextra -pedantic and every warning an error.
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
try g++ -std=c++17 -Wall -Wextra -pedantic -Werror -Iinclude -c "$dir/use.cpp" -o "$dir/cpp17.o"
try clang -std=c99 -Wall -Wextra -pedantic -Werror -Iinclude -c "$dir/use.c" -o "$dir/clang.o"
try clang -std=c11 -Wall -Wextra -pedantic -Werror -Iinclude -c "$dir/use.c" -o "$dir/clang11.o"
try clang++ -std=c++17 -Wall -Wextra -pedantic -Werror -Iinclude -c "$dir/use.cpp" -o "$dir/clang17.o"
echo "header: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
