#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks the hand-written Rust FFI crate against the C header.

    /usr/bin/python3 -m tools.checks.check_rust_sys include/biomedclip.h bindings/rust/biomedclip-sys/src/lib.rs

Every BMC_API function of the header must be declared in the crate's extern "C" blocks with the
same parameter and return types (and the crate may declare no function the header lacks);
every option struct must have the same fields in the same order with the same types and be
#[repr(C)]; every handle type, callback typedef, scalar typedef and integer or string #define
must be there with the same value. Prints one line per mismatch and ends with
"rust-sys: N passed, N failed"; exits 1 on any failure.
"""
import os
import re
import sys
from typing import Dict, List, Tuple

from tools.checks.bmc_header import CType, parse

# Rust's spelling of the C scalar types the header uses.
_RUST_TO_C = {"i8": "int8_t", "u8": "uint8_t", "i16": "int16_t", "u16": "uint16_t",
              "i32": "int32_t", "u32": "uint32_t", "i64": "int64_t", "u64": "uint64_t",
              "usize": "size_t", "isize": "ptrdiff_t", "f32": "float", "f64": "double",
              "c_char": "char", "c_void": "void", "()": "void"}


def rust_type(text: str) -> CType:
    """"*const *mut c_char" -> CType("char", ("const", "mut")); "[f32; 3]" -> array of float."""
    text = " ".join(text.split())
    match = re.fullmatch(r"\[(.+);\s*(\d+)\]", text)
    if match:
        inner = rust_type(match.group(1))
        return CType(inner.base, inner.pointers, int(match.group(2)))
    pointers = []
    while True:
        match = re.match(r"\*(const|mut)\s+(.*)", text)
        if not match:
            break
        pointers.append(match.group(1))
        text = match.group(2)
    base = text.split("::")[-1].strip()
    return CType(_RUST_TO_C.get(base, base), tuple(pointers))


def split_top_level(text: str) -> List[str]:
    """Splits on commas that are not inside (), [] or <>."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "([<":
            depth += 1
        elif char in ")]>":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def rust_params(text: str) -> Tuple[CType, ...]:
    return tuple(rust_type(p.split(":", 1)[1]) for p in split_top_level(text))


def rust_return(text: str) -> CType:
    return rust_type(text) if text else CType("void")


class RustCrate:
    """What the crate declares, read with regular expressions from its single lib.rs."""

    def __init__(self, source: str):
        source = re.sub(r"//[^\n]*", "", source)
        self.functions: Dict[str, Tuple[Tuple[CType, ...], CType]] = {}
        for block in re.findall(r'extern\s+"C"\s*\{(.*?)\n\}', source, flags=re.S):
            for name, params, returns in re.findall(
                    r"pub\s+fn\s+(\w+)\s*\(([^)]*)\)\s*(?:->\s*([^;]+?))?\s*;", block):
                self.functions[name] = (rust_params(params), rust_return(returns.strip()))
        self.structs: Dict[str, List[Tuple[str, CType]]] = {}
        self.repr_c = set()
        for attributes, name, body in re.findall(
                r"((?:#\[[^\]]*\]\s*)*)pub\s+struct\s+(\w+)\s*\{(.*?)\}", source, flags=re.S):
            fields = [f.split(":", 1) for f in split_top_level(body)]
            self.structs[name] = [(n.replace("pub", "").strip(), rust_type(t)) for n, t in fields]
            if "#[repr(C)]" in attributes:
                self.repr_c.add(name)
        self.aliases: Dict[str, str] = dict(
            re.findall(r"pub\s+type\s+(\w+)\s*=\s*(.*?);", source, flags=re.S))
        self.constants: Dict[str, str] = dict(
            re.findall(r"pub\s+const\s+(\w+)\s*:[^=]*=\s*(.*?);", source, flags=re.S))


def callback_signature(alias: str):
    """Option<unsafe extern "C" fn(a: T, ...) -> R> -> (params, return type), or None."""
    match = re.fullmatch(r'Option<\s*unsafe\s+extern\s+"C"\s+fn\s*\((.*)\)\s*(?:->\s*(.+?))?\s*>',
                         " ".join(alias.split()), flags=re.S)
    if not match:
        return None
    return rust_params(match.group(1)), rust_return((match.group(2) or "").strip())


def describe(params, returns) -> str:
    return "(%s) -> %s" % (", ".join(str(p) for p in params), returns)


def main(argv) -> int:
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    header = parse(argv[1])
    with open(argv[2], encoding="utf-8") as f:
        crate = RustCrate(f.read())
    passed, failures = 0, []

    def expect(ok: bool, message: str) -> None:
        nonlocal passed
        if ok:
            passed += 1
        else:
            failures.append(message)

    for name, function in header.functions.items():
        want = (tuple(t for _, t in function.params), function.returns)
        got = crate.functions.get(name)
        if got is None:
            expect(False, "function %s is missing" % name)
        else:
            expect(got == want, "function %s: header %s, crate %s"
                   % (name, describe(*want), describe(*got)))
    for name in sorted(set(crate.functions) - set(header.functions)):
        expect(False, "function %s is not in the header" % name)

    for name, fields in header.structs.items():
        got = crate.structs.get(name)
        if got is None:
            expect(False, "struct %s is missing" % name)
            continue
        expect(name in crate.repr_c, "struct %s is not #[repr(C)]" % name)
        expect(got == fields, "struct %s: header {%s}, crate {%s}" % (
            name, "; ".join("%s: %s" % f for f in fields), "; ".join("%s: %s" % f for f in got)))
    for name in header.opaque:
        expect(name in crate.structs and name in crate.repr_c,
               "handle type %s is missing (or not #[repr(C)])" % name)

    for name, callback in header.callbacks.items():
        got = callback_signature(crate.aliases.get(name, ""))
        want = (tuple(t for _, t in callback.params), callback.returns)
        expect(got == want, "callback %s: header %s, crate %s"
               % (name, describe(*want), crate.aliases.get(name, "missing")))
    for name, target in header.aliases.items():
        got = crate.aliases.get(name)
        expect(got is not None and rust_type(got) == target,
               "typedef %s: header %s, crate %s" % (name, target, got))

    for name, value in header.constants.items():
        got = crate.constants.get(name)
        if isinstance(value, str):
            ok = got is not None and got.strip() == '"%s"' % value
        else:
            ok = got is not None and re.fullmatch(r"-?\d+", got.strip()) and int(got) == value
        expect(bool(ok), "constant %s: header %r, crate %s" % (name, value, got))

    for message in failures:
        print("FAIL:", message)
    print("rust-sys: %d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
