#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An install made with `make install DESTDIR=... PREFIX=/usr` serves a program outside the
# tree through pkg-config (the .pc file is relocatable), and `make uninstall` removes it all.
set -u
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
passed=0; failed=0
check() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $*"; fi; }

root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
stage=$root/stage
$MAKE -s BUILD="$BUILD" install DESTDIR="$stage" PREFIX=/usr >"$root/install.log" 2>&1
check test -f "$stage/usr/include/biomedclip.h"
check test -L "$stage/usr/lib/libbiomedclip.so"
check test -f "$stage/usr/lib/pkgconfig/biomedclip.pc"

export PKG_CONFIG_PATH=$stage/usr/lib/pkgconfig
flags=$(pkg-config --cflags --libs biomedclip)
check grep -q -- "-I$stage/usr/lib/pkgconfig/../../include" <<<"$flags"
cat >"$root/app.c" <<'APP'
#include <biomedclip.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    bmc_image *image = NULL;
    int ok = bmc_version() == BMC_VERSION_NUMBER &&
             bmc_image_load_file("/nonexistent.png", &image) == BMC_ERR_IO && image == NULL;
    printf("%s %s\n", bmc_version_string(), ok ? "ok" : "wrong");
    return ok ? 0 : 1;
}
APP
check cc -std=c99 -Wall -Werror "$root/app.c" -o "$root/app" $flags -Wl,-rpath,"$stage/usr/lib"
check "$root/app"
# The Orthanc plugin, where it is built, lands in Orthanc's plugins folder under PREFIX and
# finds the installed library through its relative run path.
if [ -f "$BUILD/orthanc/libOrthancBiomedClip.so" ]; then
    plugin=$stage/usr/share/orthanc/plugins/libOrthancBiomedClip.so
    check test -f "$plugin"
    check grep -q "=> $stage/usr/share/orthanc/plugins/../../../lib/libbiomedclip.so.0 " \
        <<<"$(ldd "$plugin" 2>/dev/null)"
fi

$MAKE -s BUILD="$BUILD" uninstall DESTDIR="$stage" PREFIX=/usr >>"$root/install.log" 2>&1
left=$(find "$stage" -type f -o -type l)
check test -z "$left"
echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
