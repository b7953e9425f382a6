// SPDX-License-Identifier: MIT
// bfloat16 layer norms through oneDNN.
//
// libtorch 1.13's CPU layer norm is vectorised for float32 (about 0.8 ms on BERT's 480 x 768
// activations of a 32-prompt batch, one thread) but takes a slow path for bfloat16, about
// 20 times longer, which made the 25 layer norms of the text tower the largest element-wise
// cost of short prompts in bfloat16 (docs/performance.md). oneDNN's layer normalization reads
// bfloat16 and accumulates in float32, as libtorch's does. Float32 stays with libtorch, whose
// result the parity tests hold to 1e-5 of the reference.
#include "shim/layer_norm.h"

#ifdef BMC_HAVE_ONEDNN

#include <torch/csrc/jit/ir/ir.h>

#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "shim/onednn.h"

namespace {

using dnnl::memory;

// Distinct (rows, width, eps) seen; the cache starts afresh when full (text lengths vary).
constexpr size_t kMaxShapes = 256;

struct Norm {
    bool usable = false;
    dnnl::layer_normalization_forward::primitive_desc pd;
    dnnl::layer_normalization_forward primitive;
};

std::mutex cache_mutex;
std::map<std::tuple<int64_t, int64_t, uint32_t>, Norm> *cache = new std::map<std::tuple<int64_t, int64_t, uint32_t>, Norm>;

Norm make_norm(int64_t rows, int64_t width, float eps)
{
    Norm norm;
    memory::desc data({rows, width}, memory::data_type::bf16, memory::format_tag::ab);
    auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    norm.pd = dnnl::layer_normalization_forward::primitive_desc(
        dnnl::layer_normalization_forward::desc(dnnl::prop_kind::forward_inference, data, eps, flags),
        bmci_onednn_user_scratchpad(), bmci_onednn_engine());
    norm.usable = std::string(norm.pd.impl_info_str()).rfind("ref", 0) != 0;
    if (norm.usable)
        norm.primitive = dnnl::layer_normalization_forward(norm.pd);
    return norm;
}

// The cases oneDNN takes: bfloat16 on the CPU, normalised over the last dimension only, with
// a scale and a shift of that width.
bool takes(const at::Tensor &x, c10::IntArrayRef shape, const c10::optional<at::Tensor> &weight,
           const c10::optional<at::Tensor> &bias)
{
    return x.scalar_type() == c10::kBFloat16 && x.device().is_cpu() && x.dim() >= 1 && x.numel() > 0 &&
           shape.size() == 1 && shape[0] == x.size(-1) && weight && weight->defined() && bias &&
           bias->defined() && weight->numel() == shape[0] && bias->numel() == shape[0];
}

at::Tensor layer_norm(const at::Tensor &x, c10::IntArrayRef shape, const c10::optional<at::Tensor> &weight,
                      const c10::optional<at::Tensor> &bias, double eps)
{
    if (!takes(x, shape, weight, bias))
        return at::layer_norm(x, shape, weight, bias, eps);
    at::Tensor input = x.contiguous();
    int64_t width = shape[0], rows = input.numel() / width;
    float eps32 = (float)eps;
    uint32_t eps_bits;
    std::memcpy(&eps_bits, &eps32, sizeof eps_bits);
    Norm norm;
    {
        auto key = std::make_tuple(rows, width, eps_bits);
        std::lock_guard<std::mutex> lock(cache_mutex);
        auto found = cache->find(key);
        if (found == cache->end()) {
            if (cache->size() >= kMaxShapes)
                cache->clear();
            found = cache->emplace(key, make_norm(rows, width, eps32)).first;
        }
        norm = found->second;
    }
    if (!norm.usable)
        return at::layer_norm(x, shape, weight, bias, eps);
    // oneDNN 2.6 takes the scale and shift in float32 only; a few hundred values per call.
    at::Tensor scale = weight->to(c10::kFloat).contiguous(), shift = bias->to(c10::kFloat).contiguous();
    at::Tensor output = at::empty_like(input);
    dnnl::engine &engine = bmci_onednn_engine();
    memory::desc params({width}, memory::data_type::f32, memory::format_tag::a);
    bmci_onednn_execute(norm.primitive, norm.pd,
                        {{DNNL_ARG_SRC, memory(norm.pd.src_desc(), engine, input.data_ptr())},
                         {DNNL_ARG_DST, memory(norm.pd.dst_desc(), engine, output.data_ptr())},
                         {DNNL_ARG_SCALE, memory(params, engine, scale.data_ptr())},
                         {DNNL_ARG_SHIFT, memory(params, engine, shift.data_ptr())}});
    return output;
}

TORCH_LIBRARY_FRAGMENT(bmc, library)
{
    library.def("layer_norm(Tensor x, int[] normalized_shape, Tensor? weight, Tensor? bias, float eps) -> Tensor",
                layer_norm);
}

void reroute(torch::jit::Block *block, int64_t &count)
{
    static const c10::Symbol from = c10::Symbol::fromQualString("aten::layer_norm");
    static const c10::Symbol to = c10::Symbol::fromQualString("bmc::layer_norm");
    for (auto it = block->nodes().begin(); it != block->nodes().end();) {
        torch::jit::Node *node = *it++;
        for (torch::jit::Block *inner : node->blocks())
            reroute(inner, count);
        // aten::layer_norm(input, normalized_shape, weight, bias, eps, cudnn_enable)
        if (node->kind() != from || node->inputs().size() != 6)
            continue;
        torch::jit::WithInsertPoint here(node);
        torch::jit::Value *out = node->owningGraph()->insert(
            to, {node->input(0), node->input(1), node->input(2), node->input(3), node->input(4)});
        out->setType(node->output()->type());
        node->output()->replaceAllUsesWith(out);
        node->destroy();
        ++count;
    }
}

} // namespace

int64_t bmci_route_layer_norms(torch::jit::script::Module &module)
{
    int64_t count = 0;
    for (const auto &method : module.get_methods())
        reroute(method.graph()->block(), count);
    return count;
}

#else // built without oneDNN's headers: layer norms stay with libtorch

int64_t bmci_route_layer_norms(torch::jit::script::Module &)
{
    return 0;
}

#endif
