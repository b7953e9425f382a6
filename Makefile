# SPDX-License-Identifier: MIT
# libbiomedclip — build, test, install.
#
#   make                  shared library (with soname), static archive, examples
#   make check            every test: unit, parity, sanitizer build, header and ABI checks
#   make demo             build, make the default model and run the example programs
#   make bench            benchmarks against the reference peers (prints ratios)
#   make install          honours PREFIX, DESTDIR, BINDIR, LIBDIR, INCLUDEDIR, PKGCONFIGDIR
#   make uninstall / clean
#
# Another libtorch (the official zip, or the one inside a pip torch wheel, e.g. with CUDA):
#   make LIBTORCH=/path/to/torch        (the folder holding include/ and lib/)
# Dependencies in a private prefix (no pkg-config files): make DEPS_PREFIX=/path/to/prefix

VERSION      := 0.1.0
ABI_MAJOR    := 0
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR      ?=
PYTHON       ?= /usr/bin/python3
BUILD        ?= build

CC       ?= cc
CXX      ?= g++
OPTFLAGS ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wno-unused-parameter
CFLAGS   ?=
CXXFLAGS ?=
LDFLAGS  ?=

# ---- third-party libraries ------------------------------------------------------------------
ifeq ($(DEPS_PREFIX),)
DEPS_CFLAGS := $(shell pkg-config --cflags libpng libjpeg libturbojpeg libutf8proc libcjson)
DEPS_LIBS   := $(shell pkg-config --libs libpng libjpeg libturbojpeg libutf8proc libcjson)
else
DEPS_CFLAGS := -I$(DEPS_PREFIX)/include -I$(DEPS_PREFIX)/include/libpng16 -I$(DEPS_PREFIX)/include/cjson
DEPS_LIBS   := -L$(DEPS_PREFIX)/lib -L$(DEPS_PREFIX)/lib/x86_64-linux-gnu \
               -Wl,-rpath,$(DEPS_PREFIX)/lib/x86_64-linux-gnu -lpng16 -ljpeg -lturbojpeg -lutf8proc -lcjson
endif

# GDCM 3.0 (Debian's libgdcm-dev: C++, CMake files but no pkg-config), for DICOM in shim/dicom.cpp.
# Another build: make GDCM_INCLUDE=/path/to/include/gdcm-3.0 GDCM_LIBDIR=/path/to/lib
GDCM_INCLUDE ?= $(if $(DEPS_PREFIX),$(DEPS_PREFIX)/include/gdcm-3.0,/usr/include/gdcm-3.0)
GDCM_LIBDIR  ?=
comma        := ,
GDCM_LIBS    := $(if $(GDCM_LIBDIR),-L$(GDCM_LIBDIR) -Wl$(comma)-rpath$(comma)$(GDCM_LIBDIR)) \
                -lgdcmMSFF -lgdcmDSED -lgdcmCommon

ifeq ($(LIBTORCH),)
# Debian's libtorch-dev
TORCH_CXXFLAGS := -I/usr/include/torch/csrc/api/include
TORCH_LIBS     := -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -Wl,--as-needed
else
TORCH_CUDA     := $(if $(wildcard $(LIBTORCH)/lib/libtorch_cuda.so),-ltorch_cuda -lc10_cuda)
TORCH_CXXFLAGS := -I$(LIBTORCH)/include -I$(LIBTORCH)/include/torch/csrc/api/include
TORCH_LIBS     := -L$(LIBTORCH)/lib -Wl,-rpath,$(LIBTORCH)/lib \
                  -Wl,--no-as-needed -ltorch -ltorch_cpu $(TORCH_CUDA) -lc10 -Wl,--as-needed
endif

# oneDNN (Debian's libdnnl-dev, the oneDNN that Debian's libtorch runs on) for linear layers
# with weights packed at load (shim/packed_linear.cpp); without its header, or with ONEDNN=,
# linear layers stay with libtorch.
ONEDNN ?= $(if $(wildcard /usr/include/oneapi/dnnl/dnnl.hpp),1,)
ONEDNN_FLAGS := $(if $(ONEDNN),-DBMC_HAVE_ONEDNN,)
ONEDNN_LIBS  := $(if $(ONEDNN),-ldnnl,)

LIB_CFLAGS   = -std=c11 $(OPTFLAGS) $(WARN) -fPIC -fvisibility=hidden -DBMC_BUILDING_LIBRARY \
               -D_GNU_SOURCE -Iinclude -Ilib -I. $(DEPS_CFLAGS) $(CFLAGS)
SHIM_FLAGS   = -std=c++17 $(OPTFLAGS) -Wall -Wextra -Wno-unused-parameter -fPIC \
               -fvisibility=hidden -fvisibility-inlines-hidden -DBMC_BUILDING_LIBRARY -Iinclude -Ilib -I. \
               $(ONEDNN_FLAGS) $(TORCH_CXXFLAGS) -I$(GDCM_INCLUDE) $(CXXFLAGS)
LINK_LIBS    = $(DEPS_LIBS) $(GDCM_LIBS) $(TORCH_LIBS) $(ONEDNN_LIBS) -lpthread -lm
TEST_CFLAGS  = -std=c11 $(OPTFLAGS) $(WARN) -D_GNU_SOURCE -Iinclude -Ilib -I. -Itests $(CFLAGS)

# ---- sources ----------------------------------------------------------------------------------
# One list per subsystem folder of lib/ (docs/architecture.md): a new file in a folder is built
# without a Makefile edit. The order is the dependency order, lowest first.
CORE_SRC      := $(wildcard lib/core/*.c)
IMAGE_SRC     := $(wildcard lib/image/*.c)
TEXT_SRC      := $(wildcard lib/text/*.c lib/text/generated/*.c)
INDEX_SRC     := $(wildcard lib/index/*.c)
CAPTIONS_SRC  := $(wildcard lib/captions/*.c)
MODEL_SRC     := $(wildcard lib/model/*.c)
CLASSIFY_SRC  := $(wildcard lib/classify/*.c)
RETRIEVAL_SRC := $(wildcard lib/retrieval/*.c)
VQA_SRC       := $(wildcard lib/vqa/*.c)
SEGMENT_SRC   := $(wildcard lib/segment/*.c)
PROBE_SRC     := $(wildcard lib/probe/*.c)
LIB_SRC   := $(CORE_SRC) $(IMAGE_SRC) $(TEXT_SRC) $(INDEX_SRC) $(CAPTIONS_SRC) $(MODEL_SRC) \
             $(CLASSIFY_SRC) $(RETRIEVAL_SRC) $(VQA_SRC) $(SEGMENT_SRC) $(PROBE_SRC)
SHIM_SRC  := $(wildcard shim/*.cpp)
# Every internal header: a change to one rebuilds the objects (coarse, but never stale).
INTERNAL_HEADERS := $(wildcard lib/*/*.h lib/*/*/*.h shim/*.h) include/biomedclip.h
TEST_SRC  := $(wildcard tests/test_*.c)
EX_SRC    := $(wildcard examples/*.c)
FIXTURE_GENERATORS := $(wildcard tools/fixtures/make_*_fixtures.py)
CLI_SRC   := $(wildcard cli/*.c)

SONAME    := libbiomedclip.so.$(ABI_MAJOR)
SHARED    := $(BUILD)/libbiomedclip.so.$(VERSION)
STATIC    := $(BUILD)/libbiomedclip.a
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(SHIM_SRC:%.cpp=$(BUILD)/obj/%.o)
TESTS     := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
EXAMPLES  := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)
FIXTURES  := $(FIXTURE_GENERATORS:tools/fixtures/make_%_fixtures.py=$(BUILD)/fixtures/%/.done)
CLI       := $(BUILD)/biomedclip

# The sanitizer build: the same sources and tests, with AddressSanitizer and UBSan.
ASAN_BUILD  := $(BUILD)/asan
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_OBJ    := $(LIB_SRC:%.c=$(ASAN_BUILD)/obj/%.o) $(SHIM_SRC:%.cpp=$(ASAN_BUILD)/obj/%.o)
ASAN_STATIC := $(ASAN_BUILD)/libbiomedclip.a
ASAN_TESTS  := $(TEST_SRC:tests/%.c=$(ASAN_BUILD)/tests/%)

.PHONY: all check demo bench install uninstall clean fixtures tests asan-tests examples fuzzers
.DELETE_ON_ERROR:

all: $(SHARED) $(BUILD)/libbiomedclip.so $(STATIC) $(BUILD)/biomedclip.pc examples $(CLI)

# ---- library ------------------------------------------------------------------------------
$(BUILD)/obj/%.o: %.c $(INTERNAL_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cpp $(INTERNAL_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(SHIM_FLAGS) -c $< -o $@

$(SHARED): $(LIB_OBJ) lib/exports.map
	$(CXX) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined -Wl,--version-script=lib/exports.map \
	    -o $@ $(LIB_OBJ) $(LDFLAGS) $(LINK_LIBS)

$(BUILD)/libbiomedclip.so: $(SHARED)
	ln -sf libbiomedclip.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf libbiomedclip.so.$(VERSION) $@

$(STATIC): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# pkg-config file for the build tree, so examples and bindings can find it uninstalled.
$(BUILD)/biomedclip.pc: pkgconfig/biomedclip.pc.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@PREFIX_FROM_PC@|$${pcfiledir}|' -e 's|@LIBDIR_FROM_PC@|$${pcfiledir}|' \
	    -e 's|@INCLUDEDIR_FROM_PC@|$${pcfiledir}/../include|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@PRIVATE_LIBS@|$(strip $(LINK_LIBS))|' $< > $@

# ---- examples ---------------------------------------------------------------------------------
examples: $(EXAMPLES)

$(BUILD)/examples/%: examples/%.c include/biomedclip.h $(BUILD)/libbiomedclip.so
	@mkdir -p $(@D)
	$(CC) -std=c99 $(OPTFLAGS) $(WARN) -Iinclude $< -o $@ -L$(BUILD) -lbiomedclip \
	    -Wl,-rpath,'$$ORIGIN/..' $(LDFLAGS) -lm

# ---- command-line tool ------------------------------------------------------------------------
# Linked against the shared library, which it finds next to itself in the build tree and at
# LIBDIR relative to BINDIR once installed.
$(CLI): $(CLI_SRC) cli/cli.h include/biomedclip.h $(BUILD)/libbiomedclip.so
	$(CC) -std=c11 $(OPTFLAGS) $(WARN) -D_GNU_SOURCE -Iinclude $(CLI_SRC) -o $@ -L$(BUILD) \
	    -lbiomedclip -Wl,-rpath,'$$ORIGIN:$$ORIGIN/$(shell realpath -m --relative-to='$(BINDIR)' '$(LIBDIR)')' \
	    $(LDFLAGS)

# ---- tests ------------------------------------------------------------------------------------
# Tests link the static archive so they can also reach internal functions.
tests: $(TESTS)

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(STATIC)
	@mkdir -p $(@D)
	$(CXX) -x c $(TEST_CFLAGS) -c $< -o $@.o
	$(CXX) $@.o -o $@ $(STATIC) $(LDFLAGS) $(LINK_LIBS)

asan-tests: $(ASAN_TESTS)

$(ASAN_BUILD)/obj/%.o: %.c $(INTERNAL_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) $(SAN_FLAGS) -c $< -o $@

# UBSan's vptr check needs the typeinfo of libtorch's classes, which libtorch does not export
# (the shim's TorchScript graph passes touch c10::DynamicType): the shim is built without it.
$(ASAN_BUILD)/obj/%.o: %.cpp $(INTERNAL_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(SHIM_FLAGS) $(SAN_FLAGS) -fno-sanitize=vptr -c $< -o $@

$(ASAN_STATIC): $(ASAN_OBJ)
	rm -f $@
	ar rcs $@ $^

$(ASAN_BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(ASAN_STATIC)
	@mkdir -p $(@D)
	$(CXX) -x c $(TEST_CFLAGS) $(SAN_FLAGS) -c $< -o $@.o
	$(CXX) $(SAN_FLAGS) $@.o -o $@ $(ASAN_STATIC) $(LDFLAGS) $(LINK_LIBS)

# Fuzz targets (libFuzzer): tests/fuzz_NAME.c defines LLVMFuzzerTestOneInput. The C sources are
# compiled once with clang's coverage and sanitizers and linked into every target; the shim is
# linked as built.
FUZZ_SRC      := $(wildcard tests/fuzz_*.c)
FUZZERS       := $(FUZZ_SRC:tests/%.c=$(BUILD)/fuzz/%)
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined -g -O1
FUZZ_CFLAGS   := -std=c11 $(FUZZ_SANITIZE) -fsanitize=fuzzer-no-link -D_GNU_SOURCE -Iinclude -Ilib -I. \
                 -Itests $(DEPS_CFLAGS)
FUZZ_LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)

fuzzers: $(FUZZERS)

# Keep the objects between builds (make would delete them as intermediate files).
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_SRC:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/obj/%.o: %.c $(INTERNAL_HEADERS)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/%.o $(FUZZ_LIB_OBJ) $(SHIM_SRC:%.cpp=$(BUILD)/obj/%.o)
	clang++ $(FUZZ_SANITIZE) -fsanitize=fuzzer $^ -o $@ $(LDFLAGS) $(LINK_LIBS)

# Fixtures are generated, not committed: python3 -m tools.fixtures.make_NAME_fixtures OUTDIR.
# Each set depends on its generator and on the tools it imports (reference, export, train).
fixtures: $(FIXTURES)

REFERENCE_TOOLS := $(wildcard tools/__init__.py tools/reference/*.py tools/export/*.py)
TRAIN_TOOLS     := $(wildcard tools/train/*.py)

$(BUILD)/fixtures/%/.done: tools/fixtures/make_%_fixtures.py
	@mkdir -p $(@D)
	$(PYTHON) -m tools.fixtures.make_$*_fixtures $(@D)
	@touch $@

$(BUILD)/fixtures/model/.done: $(REFERENCE_TOOLS)
$(BUILD)/fixtures/vqa/.done: $(REFERENCE_TOOLS) $(TRAIN_TOOLS) tools/fixtures/make_model_fixtures.py
$(BUILD)/fixtures/segmentation/.done: $(REFERENCE_TOOLS) $(TRAIN_TOOLS)
$(BUILD)/fixtures/probe/.done: tools/checks/probe_check.py
$(BUILD)/fixtures/index_set/.done: tools/fixtures/make_index_fixtures.py

# Helper programs of check and bench suites (tests/tool_NAME.c -> $(BUILD)/tools/tool_NAME),
# linked like the tests so they can reach internal functions.
TOOL_SRC := $(wildcard tests/tool_*.c)
TOOLS    := $(TOOL_SRC:tests/%.c=$(BUILD)/tools/%)

$(BUILD)/tools/%: tests/%.c $(STATIC)
	@mkdir -p $(@D)
	$(CXX) -x c $(TEST_CFLAGS) $(DEPS_CFLAGS) $(ONEDNN_FLAGS) -c $< -o $@.o
	$(CXX) $@.o -o $@ $(STATIC) $(LDFLAGS) $(LINK_LIBS)

check: all tests asan-tests fuzzers fixtures $(TOOLS)
	@BUILD=$(BUILD) PYTHON=$(PYTHON) MAKE="$(MAKE)" tests/run-all.sh

# ---- demo and benchmarks --------------------------------------------------------------------
demo: all
	@BUILD=$(BUILD) PYTHON=$(PYTHON) tools/demo.sh

bench: all $(TOOLS)
	@BUILD=$(BUILD) PYTHON=$(PYTHON) tools/bench/bench.sh

# ---- install ----------------------------------------------------------------------------------
# The installed .pc file locates everything relative to itself, so a tree installed with
# DESTDIR and moved elsewhere still works.
rel = $(shell realpath -m --relative-to='$(PKGCONFIGDIR)' '$(1)')

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libbiomedclip.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf libbiomedclip.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libbiomedclip.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 644 include/biomedclip.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX_FROM_PC@|$${pcfiledir}/$(call rel,$(PREFIX))|' \
	    -e 's|@LIBDIR_FROM_PC@|$${pcfiledir}/$(call rel,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR_FROM_PC@|$${pcfiledir}/$(call rel,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@PRIVATE_LIBS@|$(strip $(LINK_LIBS))|' \
	    pkgconfig/biomedclip.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/biomedclip.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/biomedclip $(DESTDIR)$(LIBDIR)/libbiomedclip.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libbiomedclip.so $(DESTDIR)$(LIBDIR)/libbiomedclip.a \
	      $(DESTDIR)$(INCLUDEDIR)/biomedclip.h $(DESTDIR)$(PKGCONFIGDIR)/biomedclip.pc

clean:
	rm -rf $(BUILD)
