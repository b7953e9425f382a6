#!/usr/bin/env bash
# `make bench`: every benchmark against its reference peer, run in turn (BUILD and PYTHON set).
set -eu
bash tools/bench_tokenizer.sh
