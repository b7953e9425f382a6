# SPDX-License-Identifier: MIT
"""A small parser of include/biomedclip.h for the bindings' ABI checks.

It reads what the bindings must mirror: every BMC_API function (name, return type, parameter
types), the typedef'd structs (field names and types, in order), the function pointer typedefs
and the integer/string #define constants. Types are returned in one canonical form so that the
declarations of another language can be compared with them:

    CType(base="bmc_image", pointers=("const", "const"))

means `const bmc_image *const *` as a parameter: `pointers` lists, from the outermost pointer
inward, whether what each pointer points to is const ("const") or not ("mut"). `array` is the
length of a fixed-size array field (`float mean[3]`), else None.

The parser handles the C this header is written in (one declaration per statement, no macros
inside declarations), not C in general; it fails loudly on anything it does not understand.
"""
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union


@dataclass(frozen=True)
class CType:
    base: str
    pointers: Tuple[str, ...] = ()
    array: Optional[int] = None

    def __str__(self) -> str:
        text = "".join("*%s " % p for p in self.pointers) + self.base
        return text if self.array is None else "[%s; %d]" % (text, self.array)


@dataclass(frozen=True)
class Function:
    name: str
    returns: CType
    params: Tuple[Tuple[str, CType], ...]  # (name, type); names are informative only


@dataclass
class Header:
    functions: Dict[str, Function]
    structs: Dict[str, List[Tuple[str, CType]]]
    callbacks: Dict[str, Function]  # function pointer typedefs, by typedef name
    aliases: Dict[str, CType]  # scalar typedefs (bmc_status -> int32_t)
    opaque: List[str]  # handle types declared as `typedef struct bmc_x bmc_x;`
    constants: Dict[str, Union[int, str]]


_QUALIFIERS = {"const", "struct"}


def parse_type(text: str) -> CType:
    """Turns a C type written without a name ("const char *const *") into a CType."""
    array = None
    match = re.fullmatch(r"(.*)\[(\d+)\]", text.strip())
    if match:
        text, array = match.group(1), int(match.group(2))
    tokens = re.findall(r"\*|[A-Za-z_][A-Za-z0-9_]*", text)
    if not tokens:
        raise ValueError("empty type: %r" % text)
    stars = [i for i, t in enumerate(tokens) if t == "*"]
    head = tokens[: stars[0]] if stars else tokens
    base_words = [t for t in head if t not in _QUALIFIERS]
    if len(base_words) != 1:
        raise ValueError("cannot read the type %r" % text)
    # Constness of what each pointer points to, innermost pointer first: the first pointer
    # points to the base type, each further one to the pointer before it.
    pointee_const = ["const" in head]
    for n, position in enumerate(stars):
        after = tokens[position + 1 : stars[n + 1] if n + 1 < len(stars) else len(tokens)]
        if any(t != "const" for t in after):
            raise ValueError("cannot read the type %r" % text)
        pointee_const.append(bool(after))
    kinds = tuple("const" if c else "mut" for c in pointee_const[: len(stars)])
    return CType(base_words[0], tuple(reversed(kinds)), array)


def _split_declaration(text: str) -> Tuple[str, CType]:
    """Splits "const char *name" or "float mean[3]" into ("name", CType)."""
    text = " ".join(text.split())
    match = re.fullmatch(r"(.*?)([A-Za-z_][A-Za-z0-9_]*)\s*(\[\d+\])?", text)
    if not match or not match.group(1).strip():
        raise ValueError("cannot read the declaration %r" % text)
    return match.group(2), parse_type(match.group(1) + (match.group(3) or ""))


def _parse_params(text: str) -> Tuple[Tuple[str, CType], ...]:
    text = " ".join(text.split())
    if text in ("void", ""):
        return ()
    # An array parameter ("const uint8_t color[3]") is a pointer to its first element.
    parts = [re.sub(r"(\w+)\s*\[\d*\]\s*$", r"*\1", part) for part in text.split(",")]
    return tuple(_split_declaration(part) for part in parts)


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def parse(path: str) -> Header:
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    constants: Dict[str, Union[int, str]] = {}
    for name, value in re.findall(r"^#define\s+(BMC_[A-Z0-9_]+)[ \t]+([^\n]*)", raw, flags=re.M):
        value = _strip_comments(value).strip()
        if re.fullmatch(r"-?\d+[uU]?", value):
            constants[name] = int(value.rstrip("uU"))
        elif re.fullmatch(r'"[^"\\]*"', value):
            constants[name] = value[1:-1]
    text = _strip_comments(raw)

    functions = {}
    for returns, name, params in re.findall(
        r"BMC_API\s+([^;{}()]*?)\b(bmc_[a-z0-9_]+)\s*\(([^;{}]*?)\)\s*;", text
    ):
        functions[name] = Function(name, parse_type(returns), _parse_params(params))

    structs = {}
    for body, name in re.findall(r"typedef\s+struct\s+\w+\s*\{([^}]*)\}\s*(\w+)\s*;", text):
        fields = []
        for statement in body.split(";"):
            if statement.strip():
                # "float mean[3]" and "double meteor_alpha" but also "double a; double b".
                fields.append(_split_declaration(statement))
        structs[name] = fields

    callbacks = {}
    for returns, name, params in re.findall(
        r"typedef\s+([^;(){}]*?)\(\s*\*\s*(\w+)\s*\)\s*\(([^;{}]*)\)\s*;", text
    ):
        callbacks[name] = Function(name, parse_type(returns), _parse_params(params))

    aliases = {}
    for target, name in re.findall(r"typedef\s+((?:const\s+)?\w+(?:\s*\*)*)\s+(\w+)\s*;", text):
        if not target.startswith("struct"):
            aliases[name] = parse_type(target)
    opaque = re.findall(r"typedef\s+struct\s+(\w+)\s+\1\s*;", text)
    return Header(functions, structs, callbacks, aliases, opaque, constants)


if __name__ == "__main__":
    import sys

    header = parse(sys.argv[1] if len(sys.argv) > 1 else "include/biomedclip.h")
    for function in header.functions.values():
        print("%s(%s) -> %s" % (function.name, ", ".join(str(t) for _, t in function.params),
                                function.returns))
    for name, fields in header.structs.items():
        print("struct %s { %s }" % (name, "; ".join("%s: %s" % f for f in fields)))
    for name, function in header.callbacks.items():
        print("callback %s(%s) -> %s" % (name, ", ".join(str(t) for _, t in function.params),
                                         function.returns))
    print("aliases", {k: str(v) for k, v in header.aliases.items()})
    print("opaque", " ".join(header.opaque))
    print(len(header.constants), "constants")
