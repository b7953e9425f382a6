# SPDX-License-Identifier: MIT
# libbiomedclip — build, test, install.
#
#   make                  shared library (with soname), static archive, examples
#   make check            every test: unit, parity, sanitizer build, header and ABI checks
#   make demo             build, make the default model and run the example programs
#   make bench            benchmarks against the reference peers (prints ratios)
#   make tsan             the threaded tests under ThreadSanitizer (not part of make check)
#   make soak             10,000 encode-and-classify calls with the resident memory sampled
#   make abi              record the built library's ABI in tests/data/abi (after a deliberate change)
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
DEPS_CFLAGS := $(shell pkg-config --cflags libpng libjpeg libturbojpeg libutf8proc libcjson zlib libdeflate)
DEPS_LIBS   := $(shell pkg-config --libs libpng libjpeg libturbojpeg libutf8proc libcjson zlib libdeflate)
else
DEPS_CFLAGS := -I$(DEPS_PREFIX)/include -I$(DEPS_PREFIX)/include/libpng16 -I$(DEPS_PREFIX)/include/cjson
DEPS_LIBS   := -L$(DEPS_PREFIX)/lib -L$(DEPS_PREFIX)/lib/x86_64-linux-gnu \
               -Wl,-rpath,$(DEPS_PREFIX)/lib/x86_64-linux-gnu -lpng16 -ljpeg -lturbojpeg -lutf8proc -lcjson -lz -ldeflate
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

# The Orthanc plugin (bindings/orthanc, GPLv3): built when Orthanc's plugin SDK (Debian's
# orthanc-dev) is installed, or with ORTHANC=1; ORTHANC= leaves it out. Installed to
# ORTHANC_PLUGINDIR (Debian's Orthanc loads /usr/share/orthanc/plugins).
ORTHANC           ?= $(if $(wildcard /usr/include/orthanc/OrthancCPlugin.h),1,)
ORTHANC_PLUGINDIR ?= $(PREFIX)/share/orthanc/plugins

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
ORTHANC_SRC    := $(wildcard bindings/orthanc/*.c)
ORTHANC_PLUGIN := $(if $(ORTHANC),$(BUILD)/orthanc/libOrthancBiomedClip.so)

# The sanitizer build: the same sources and tests, with AddressSanitizer and UBSan.
ASAN_BUILD  := $(BUILD)/asan
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_OBJ    := $(LIB_SRC:%.c=$(ASAN_BUILD)/obj/%.o) $(SHIM_SRC:%.cpp=$(ASAN_BUILD)/obj/%.o)
ASAN_STATIC := $(ASAN_BUILD)/libbiomedclip.a
ASAN_TESTS  := $(TEST_SRC:tests/%.c=$(ASAN_BUILD)/tests/%)

.PHONY: all check demo bench install uninstall clean fixtures tests asan-tests examples fuzzers \
        tsan tsan-tests soak abi fuzz-campaign
.DELETE_ON_ERROR:

all: $(SHARED) $(BUILD)/libbiomedclip.so $(STATIC) $(BUILD)/biomedclip.pc examples $(CLI) \
     $(ORTHANC_PLUGIN)

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

# ---- Orthanc plugin ---------------------------------------------------------------------------
# Public header only, linked against the shared library, found next to the build tree's copy,
# at LIBDIR relative to ORTHANC_PLUGINDIR once installed, and at LIBDIR itself (for a plugin
# installed to another folder than the one it was built for).
$(BUILD)/orthanc/libOrthancBiomedClip.so: $(ORTHANC_SRC) $(wildcard bindings/orthanc/*.h) \
        include/biomedclip.h $(BUILD)/libbiomedclip.so
	@mkdir -p $(@D)
	$(CC) -std=c11 $(OPTFLAGS) $(WARN) -D_GNU_SOURCE -fPIC -shared -fvisibility=hidden -Iinclude \
	    $(ORTHANC_SRC) -o $@ -L$(BUILD) -lbiomedclip -lcjson -lpthread -Wl,--no-undefined \
	    -Wl,-rpath,'$$ORIGIN/..:$$ORIGIN/$(shell realpath -m --relative-to='$(ORTHANC_PLUGINDIR)' '$(LIBDIR)'):$(LIBDIR)' \
	    $(LDFLAGS)

# ---- tests ------------------------------------------------------------------------------------
# Tests link the static archive so they can also reach internal functions. TEST_LDFLAGS_<name>
# adds link flags for one test.
tests: $(TESTS)

# tests/test_alloc_failure.c fails the N-th allocation the library makes: the linker sends the
# calls that the archive's objects (and the test's) make to malloc & co. to the test's counting
# __wrap_* functions, while libtorch, libpng, glibc... keep the real ones (docs/reliability.md).
ALLOC_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=aligned_alloc
TEST_LDFLAGS_test_alloc_failure := $(ALLOC_WRAP)

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(STATIC)
	@mkdir -p $(@D)
	$(CXX) -x c $(TEST_CFLAGS) -c $< -o $@.o
	$(CXX) $@.o -o $@ $(STATIC) $(LDFLAGS) $(TEST_LDFLAGS_$*) $(LINK_LIBS)

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
	$(CXX) $(SAN_FLAGS) $@.o -o $@ $(ASAN_STATIC) $(LDFLAGS) $(TEST_LDFLAGS_$*) $(LINK_LIBS)

# Fuzz targets (libFuzzer): tests/fuzz_NAME.c defines LLVMFuzzerTestOneInput. The C sources are
# compiled once with clang's coverage and sanitizers and linked into every target, and so is the
# GDCM adapter (shim/dicom*.cpp), which parses outside data and whose checks the fuzzer must see
# to explore; the libtorch adapters are linked as built.
FUZZ_SRC      := $(wildcard tests/fuzz_*.c)
FUZZERS       := $(FUZZ_SRC:tests/%.c=$(BUILD)/fuzz/%)
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined -g -O1
FUZZ_CFLAGS   := -std=c11 $(FUZZ_SANITIZE) -fsanitize=fuzzer-no-link -D_GNU_SOURCE -Iinclude -Ilib -I. \
                 -Itests $(DEPS_CFLAGS)
FUZZ_SHIM_SRC := $(wildcard shim/dicom*.cpp)
FUZZ_LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o) $(FUZZ_SHIM_SRC:%.cpp=$(BUILD)/fuzz/obj/%.o) \
                 $(patsubst %.cpp,$(BUILD)/obj/%.o,$(filter-out $(FUZZ_SHIM_SRC),$(SHIM_SRC)))

fuzzers: $(FUZZERS)

# Keep the objects between builds (make would delete them as intermediate files).
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_SRC:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/obj/%.o: %.c $(INTERNAL_HEADERS)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/obj/%.o: %.cpp $(INTERNAL_HEADERS)
	@mkdir -p $(@D)
	clang++ $(SHIM_FLAGS) $(FUZZ_SANITIZE) -fsanitize=fuzzer-no-link -fno-sanitize=vptr \
	    -Wno-deprecated-copy -Wno-deprecated-copy-with-user-provided-copy -c $< -o $@

$(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/%.o $(FUZZ_LIB_OBJ)
	clang++ $(FUZZ_SANITIZE) -fsanitize=fuzzer $^ -o $@ $(LDFLAGS) $(LINK_LIBS)

# ThreadSanitizer (make tsan, outside make check: the instrumented tree takes minutes to build
# and its tests run many times slower). The C library and the shim are instrumented; libtorch,
# oneDNN, OpenBLAS and the other libraries are not: tests/run-tsan.sh and tests/tsan.supp say
# how their calls are treated, docs/threading-and-memory.md what that covers and what it found.
# TSAN_SHIM=0 links the uninstrumented shim objects of the normal build instead (quicker).
TSAN_BUILD  := $(BUILD)/tsan
TSAN_FLAGS  := -fsanitize=thread -fno-omit-frame-pointer
TSAN_SHIM   ?= 1
TSAN_OBJ    := $(LIB_SRC:%.c=$(TSAN_BUILD)/obj/%.o) \
               $(if $(filter 0,$(TSAN_SHIM)),$(SHIM_SRC:%.cpp=$(BUILD)/obj/%.o),$(SHIM_SRC:%.cpp=$(TSAN_BUILD)/obj/%.o))
TSAN_STATIC := $(TSAN_BUILD)/libbiomedclip.a
# The tests that start threads: the stress test, and those with a threaded part of their own.
TSAN_TEST_NAMES ?= test_threads test_core test_index test_index_set test_preprocess test_tokenizer \
                   test_pipeline
TSAN_TESTS  := $(TSAN_TEST_NAMES:%=$(TSAN_BUILD)/tests/%)

tsan-tests: $(TSAN_TESTS)

$(TSAN_BUILD)/obj/%.o: %.c $(INTERNAL_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) $(TSAN_FLAGS) -c $< -o $@

$(TSAN_BUILD)/obj/%.o: %.cpp $(INTERNAL_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(SHIM_FLAGS) $(TSAN_FLAGS) -c $< -o $@

$(TSAN_STATIC): $(TSAN_OBJ)
	rm -f $@
	ar rcs $@ $^

$(TSAN_BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(TSAN_STATIC)
	@mkdir -p $(@D)
	$(CXX) -x c $(TEST_CFLAGS) $(TSAN_FLAGS) -c $< -o $@.o
	$(CXX) $(TSAN_FLAGS) $@.o -o $@ $(TSAN_STATIC) $(LDFLAGS) $(LINK_LIBS)

tsan: tsan-tests fixtures
	@BUILD=$(BUILD) TESTS="$(TSAN_TESTS)" tests/run-tsan.sh

# Soak (make soak; tests/check_soak.sh runs a shorter one in make check): BMC_SOAK_CALLS
# encode-and-classify calls (default 10,000) on the tiny model, or on SOAK_MODEL (a folder
# with model.bmc.pt, manifest.txt and images/ as build/fixtures/model has them).
SOAK_MODEL ?= $(BUILD)/fixtures/model

soak: $(BUILD)/tools/tool_soak fixtures
	$(BUILD)/tools/tool_soak $(SOAK_MODEL)

# The public ABI as abidw (abigail-tools) reads it from the built library, recorded in the
# repository; tests/check_abi.sh compares the build with it. Refresh it (make abi) after an
# addition, or after a deliberate break that came with a new ABI_MAJOR.
ABI_FILE     := tests/data/abi/libbiomedclip.abi
# Only what the exported functions reach, only the header's types, no locations (they would
# change with every edit of a source file) and no paths of the machine that ran it.
ABIDW_FLAGS  := --exported-interfaces-only --headers-dir include --drop-private-types --no-show-locs \
                --no-corpus-path --no-comp-dir-path

abi: $(SHARED)
	@mkdir -p $(dir $(ABI_FILE))
	abidw $(ABIDW_FLAGS) --out-file $(ABI_FILE) $(SHARED)

# Campaigns (not part of check): every target for FUZZ_RUNS executions (default 10 million;
# the bundle loader FUZZ_BUNDLE_RUNS, default 100,000), one at a time; FUZZ_TARGETS="image
# bundle" picks targets, FUZZ_SECONDS caps each, FUZZ_JOB names a run that shares a target
# with another. Corpora and findings stay in $(BUILD)/fuzz-campaign (docs/reliability.md).
fuzz-campaign: fuzzers
	@BUILD=$(BUILD) PYTHON=$(PYTHON) FUZZ_RUNS="$(FUZZ_RUNS)" FUZZ_BUNDLE_RUNS="$(FUZZ_BUNDLE_RUNS)" \
	    FUZZ_TARGETS="$(FUZZ_TARGETS)" FUZZ_SECONDS="$(FUZZ_SECONDS)" FUZZ_JOB="$(FUZZ_JOB)" \
	    bash tests/fuzz_campaign.sh

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
# The corrupt-file corpus damages the VQA and segmentation fixtures' heads and the seeds.
$(BUILD)/fixtures/corrupt/.done: $(BUILD)/fixtures/vqa/.done $(BUILD)/fixtures/segmentation/.done \
    tools/fixtures/make_bundle_seeds.py $(wildcard tests/data/fuzz/image/* tests/data/fuzz/index/*)

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
	$(if $(ORTHANC_PLUGIN),install -d $(DESTDIR)$(ORTHANC_PLUGINDIR))
	$(if $(ORTHANC_PLUGIN),install -m 755 $(ORTHANC_PLUGIN) $(DESTDIR)$(ORTHANC_PLUGINDIR)/)
	sed -e 's|@PREFIX_FROM_PC@|$${pcfiledir}/$(call rel,$(PREFIX))|' \
	    -e 's|@LIBDIR_FROM_PC@|$${pcfiledir}/$(call rel,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR_FROM_PC@|$${pcfiledir}/$(call rel,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@PRIVATE_LIBS@|$(strip $(LINK_LIBS))|' \
	    pkgconfig/biomedclip.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/biomedclip.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/biomedclip $(DESTDIR)$(LIBDIR)/libbiomedclip.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libbiomedclip.so $(DESTDIR)$(LIBDIR)/libbiomedclip.a \
	      $(DESTDIR)$(INCLUDEDIR)/biomedclip.h $(DESTDIR)$(PKGCONFIGDIR)/biomedclip.pc \
	      $(DESTDIR)$(ORTHANC_PLUGINDIR)/libOrthancBiomedClip.so

clean:
	rm -rf $(BUILD)
