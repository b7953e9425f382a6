#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Rust -sys crate declares every function, struct, callback and constant of the public
# header with the same signature/layout/value (tools/checks/check_rust_sys.py), and the checker itself
# notices a missing function, a changed parameter type, a reordered struct field and a changed
# constant in a deliberately broken copy of the crate.
set -u
PYTHON=${PYTHON:-/usr/bin/python3}
header=include/biomedclip.h
crate=bindings/rust/biomedclip-sys/src/lib.rs
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
passed=0; failed=0

if "$PYTHON" -m tools.checks.check_rust_sys "$header" "$crate"; then
    passed=$((passed + 1))
else
    failed=$((failed + 1)); echo "FAIL: the crate does not match the header"
fi

# Each sed expression breaks the crate in one way the checker must report.
mutants=(
    's/^    pub fn bmc_softmax(.*$//'
    's/pub fn bmc_top_k(values: \*const f32, count: usize, k: usize/pub fn bmc_top_k(values: *const f32, count: u32, k: usize/'
    's/    pub window_center: f64,/    pub window_center: f32,/'
    's/^pub const BMC_ERR_NOT_FOUND: bmc_status = 14;/pub const BMC_ERR_NOT_FOUND: bmc_status = 15;/'
    's/Option<unsafe extern "C" fn(user_data: \*mut c_void, done: usize/Option<unsafe extern "C" fn(user_data: *const c_void, done: usize/'
    's/pub fn bmc_image_info(image: \*const bmc_image/pub fn bmc_image_info(image: *mut bmc_image/'
)
for expression in "${mutants[@]}"; do
    sed -e "$expression" "$crate" > "$dir/lib.rs"
    if cmp -s "$crate" "$dir/lib.rs"; then
        failed=$((failed + 1)); echo "FAIL: mutation '$expression' changed nothing (update it)"
    elif "$PYTHON" -m tools.checks.check_rust_sys "$header" "$dir/lib.rs" >/dev/null; then
        failed=$((failed + 1)); echo "FAIL: the checker accepted the broken crate: $expression"
    else
        passed=$((passed + 1))
    fi
done
# Field order matters for layout: swap two fields of bmc_pixels.
awk '/pub width: i32,/ && !done { held = $0; next } /pub height: i32,/ && held && !done { print; print held; done = 1; next } { print }' \
    "$crate" > "$dir/lib.rs"
if ! cmp -s "$crate" "$dir/lib.rs" && ! "$PYTHON" -m tools.checks.check_rust_sys "$header" "$dir/lib.rs" >/dev/null; then
    passed=$((passed + 1))
else
    failed=$((failed + 1)); echo "FAIL: the checker accepted swapped struct fields"
fi

echo "rust_sys: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
