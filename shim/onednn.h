/* SPDX-License-Identifier: MIT */
// What the shim's oneDNN operators share: the CPU engine and the mapping of libtorch's dtypes.
#ifndef BMC_SHIM_ONEDNN_H
#define BMC_SHIM_ONEDNN_H

#ifdef BMC_HAVE_ONEDNN

#include <oneapi/dnnl/dnnl.hpp>
#include <torch/script.h>

#include <unordered_map>

// The process's oneDNN CPU engine (engines are thread-safe; one is enough).
dnnl::engine &bmci_onednn_engine();

// bfloat16 -> bf16, anything else -> f32 (callers accept only those two).
dnnl::memory::data_type bmci_onednn_type(c10::ScalarType type);

// A primitive attribute whose scratchpad the caller passes at each execution: primitives made
// with it may run from several threads at once.
dnnl::primitive_attr bmci_onednn_user_scratchpad();

// Runs `primitive` on the calling thread's OpenMP threads, with a scratchpad of the size
// `pd` asks for allocated through libtorch, and waits for it.
void bmci_onednn_execute(const dnnl::primitive &primitive, const dnnl::primitive_desc_base &pd,
                         std::unordered_map<int, dnnl::memory> args);

#endif

#endif
