# SPDX-License-Identifier: MIT
"""The ctypes declarations match include/biomedclip.h (parsed by tools/checks/bmc_header.py)."""
import ctypes
import os

import pytest

from conftest import ROOT

from tools.checks import bmc_header
from biomedclip import _capi

HEADER = bmc_header.parse(os.path.join(ROOT, "include", "biomedclip.h"))

_SCALARS = {"int32_t": ctypes.c_int32, "uint32_t": ctypes.c_uint32, "int64_t": ctypes.c_int64,
            "uint8_t": ctypes.c_uint8, "size_t": ctypes.c_size_t, "float": ctypes.c_float,
            "double": ctypes.c_double, "bmc_status": ctypes.c_int32, "char": ctypes.c_char}


def expected_ctype(ctype: bmc_header.CType):
    """The ctypes type the binding should use for a C type (ctypes has no const)."""
    if ctype.array is not None:
        return expected_ctype(bmc_header.CType(ctype.base, ctype.pointers)) * ctype.array
    depth = len(ctype.pointers)
    if ctype.base == "void":
        return None if depth == 0 else _pointer_to(ctypes.c_void_p, depth - 1)
    if ctype.base == "char" and depth >= 1:
        # A string is c_char_p; a writable text buffer may be POINTER(c_char).
        return (_pointer_to(ctypes.c_char_p, depth - 1), _pointer_to(ctypes.c_char, depth))
    if ctype.base in _SCALARS:
        return _pointer_to(_SCALARS[ctype.base], depth)
    return _pointer_to(getattr(_capi, ctype.base), depth)


def _pointer_to(base, depth: int):
    for _ in range(depth):
        base = ctypes.POINTER(base)
    return base


def _same(got, want) -> bool:
    return got in want if isinstance(want, tuple) else got == want


@pytest.mark.parametrize("name", sorted(HEADER.functions))
def test_function_declared_like_the_header(name):
    function = HEADER.functions[name]
    assert name in _capi.PROTOTYPES, "%s is not declared in biomedclip._capi" % name
    restype, argtypes = _capi.PROTOTYPES[name]
    assert _same(restype, expected_ctype(function.returns)), "%s returns %s" % (name, restype)
    assert len(argtypes) == len(function.params)
    for (param, ctype), got in zip(function.params, argtypes):
        assert _same(got, expected_ctype(ctype)), "%s(%s): %s vs %s" % (name, param, got, ctype)


def test_no_function_beyond_the_header():
    assert sorted(set(_capi.PROTOTYPES) - set(HEADER.functions)) == []


def test_the_library_exports_every_function():
    assert _capi.MISSING == []


@pytest.mark.parametrize("name", sorted(HEADER.structs))
def test_struct_fields_and_size(name):
    struct = getattr(_capi, name)
    fields = [(n, t) for n, t in struct._fields_]
    header_fields = HEADER.structs[name]
    assert [n for n, _ in fields] == [n for n, _ in header_fields]
    for (field, ctype), (_, got) in zip(header_fields, fields):
        if ctype.base in HEADER.callbacks:
            assert got is getattr(_capi, ctype.base), field
        else:
            assert _same(got, expected_ctype(ctype)), "%s.%s" % (name, field)
    # The init functions write struct_size = sizeof in C: the layouts agree in size.
    # (Every struct has its init function: bmc_pixels -> bmc_pixels_init, ...)
    value = struct()
    getattr(_capi, name + "_init")(ctypes.byref(value))
    assert value.struct_size == ctypes.sizeof(struct)


@pytest.mark.parametrize("name", sorted(HEADER.constants))
def test_constant(name):
    if name.startswith("BMC_VERSION_"):
        import biomedclip
        if name == "BMC_VERSION_STRING":
            assert biomedclip.library_version() == HEADER.constants[name]
        return
    assert getattr(_capi, name) == HEADER.constants[name]


def test_runtime_version_matches_header():
    c = HEADER.constants
    number = c["BMC_VERSION_MAJOR"] * 10000 + c["BMC_VERSION_MINOR"] * 100 + c["BMC_VERSION_PATCH"]
    assert _capi.bmc_version() == number
