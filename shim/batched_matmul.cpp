// SPDX-License-Identifier: MIT
// Batched float32 products of two activations (attention's Q·Kᵀ and A·V) through oneDNN.
//
// Debian's libtorch runs float32 batched products as one small OpenBLAS call per batch item:
// on ViT's 197 x 64 x 197 attention products on a 2-core machine, 80-90 GFLOP/s against
// oneDNN's 240-340, which takes the whole batch, strided views included, in one call on
// libtorch's OpenMP threads. Each aten::matmul becomes bmc::matmul, which falls back
// to at::matmul for every case it does not take (other ranks, broadcasting, other dtypes, or a
// layout for which oneDNN has only its reference implementation).
#include "shim/batched_matmul.h"

#ifdef BMC_HAVE_ONEDNN

#include <torch/csrc/jit/ir/ir.h>

#include <map>
#include <mutex>

#include "shim/onednn.h"

namespace {

using dnnl::memory;

// Shapes and strides of the two operands (and their dtype) -> the primitive, or none where
// oneDNN would only run its reference code. Bounded: the cache starts afresh when full.
constexpr size_t kMaxShapes = 256;

struct Product {
    bool usable = false;
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul primitive;
};

std::mutex cache_mutex;
std::map<std::vector<int64_t>, Product> *cache = new std::map<std::vector<int64_t>, Product>;

std::vector<int64_t> shape_key(const at::Tensor &a, const at::Tensor &b)
{
    std::vector<int64_t> key{(int64_t)a.scalar_type(), a.dim()};
    for (const at::Tensor *t : {&a, &b}) {
        key.insert(key.end(), t->sizes().begin(), t->sizes().end());
        key.insert(key.end(), t->strides().begin(), t->strides().end());
    }
    return key;
}

memory::desc describe(const at::Tensor &t)
{
    return memory::desc(memory::dims(t.sizes().begin(), t.sizes().end()), bmci_onednn_type(t.scalar_type()),
                        memory::dims(t.strides().begin(), t.strides().end()));
}

Product make_product(const at::Tensor &a, const at::Tensor &b, const at::Tensor &out)
{
    Product product;
    product.pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(describe(a), describe(b), describe(out)),
                                              bmci_onednn_user_scratchpad(), bmci_onednn_engine());
    product.usable = std::string(product.pd.impl_info_str()).rfind("ref", 0) != 0;
    if (product.usable)
        product.primitive = dnnl::matmul(product.pd);
    return product;
}

// Same rank (3 to 5), same batch sizes, matching inner sizes, float32 on the CPU. libtorch
// already sends bfloat16 products to oneDNN, and as fast (faster on short texts).
bool takes(const at::Tensor &a, const at::Tensor &b)
{
    int64_t rank = a.dim();
    if (rank < 3 || rank > 5 || b.dim() != rank || a.scalar_type() != c10::kFloat ||
        b.scalar_type() != c10::kFloat || !a.device().is_cpu() || !b.device().is_cpu())
        return false;
    for (int64_t d = 0; d < rank - 2; ++d)
        if (a.size(d) != b.size(d))
            return false;
    return a.size(rank - 1) == b.size(rank - 2) && a.numel() > 0 && b.numel() > 0;
}

at::Tensor batched_matmul(const at::Tensor &a, const at::Tensor &b)
{
    if (!takes(a, b))
        return at::matmul(a, b);
    std::vector<int64_t> sizes = a.sizes().vec();
    sizes.back() = b.size(-1);
    at::Tensor out = at::empty(sizes, a.options());
    Product product;
    {
        std::vector<int64_t> key = shape_key(a, b);
        std::lock_guard<std::mutex> lock(cache_mutex);
        auto found = cache->find(key);
        if (found == cache->end()) {
            if (cache->size() >= kMaxShapes)
                cache->clear();
            found = cache->emplace(std::move(key), make_product(a, b, out)).first;
        }
        product = found->second;
    }
    if (!product.usable)
        return at::matmul(a, b);
    dnnl::engine &engine = bmci_onednn_engine();
    bmci_onednn_execute(product.primitive, product.pd,
                        {{DNNL_ARG_SRC, memory(product.pd.src_desc(), engine, a.data_ptr())},
                         {DNNL_ARG_WEIGHTS, memory(product.pd.weights_desc(), engine, b.data_ptr())},
                         {DNNL_ARG_DST, memory(product.pd.dst_desc(), engine, out.data_ptr())}});
    return out;
}

TORCH_LIBRARY_FRAGMENT(bmc, library)
{
    library.def("matmul(Tensor a, Tensor b) -> Tensor", batched_matmul);
}

void reroute(torch::jit::Block *block, int64_t &count)
{
    static const c10::Symbol from = c10::Symbol::fromQualString("aten::matmul");
    static const c10::Symbol to = c10::Symbol::fromQualString("bmc::matmul");
    for (auto it = block->nodes().begin(); it != block->nodes().end();) {
        torch::jit::Node *node = *it++;
        for (torch::jit::Block *inner : node->blocks())
            reroute(inner, count);
        if (node->kind() != from || node->inputs().size() != 2)
            continue;
        torch::jit::WithInsertPoint here(node);
        torch::jit::Value *out =
            node->owningGraph()->insert(to, {node->input(0), node->input(1)});
        out->setType(node->output()->type());
        node->output()->replaceAllUsesWith(out);
        node->destroy();
        ++count;
    }
}

} // namespace

int64_t bmci_route_matmuls(torch::jit::script::Module &module)
{
    int64_t count = 0;
    for (const auto &method : module.get_methods())
        reroute(method.graph()->block(), count);
    return count;
}

#else // built without oneDNN's headers: products stay with libtorch

int64_t bmci_route_matmuls(torch::jit::script::Module &)
{
    return 0;
}

#endif
