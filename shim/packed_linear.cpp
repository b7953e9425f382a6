// SPDX-License-Identifier: MIT
// Linear layers through oneDNN with weights packed once at load.
//
// Debian's libtorch sends float32 linear layers to OpenBLAS, which reaches about 200 GFLOP/s on
// a 2-core AVX-512 machine, and its bfloat16 ones to oneDNN with the weights reordered into
// oneDNN's blocked layout at every call. oneDNN's matrix product on weights reordered once
// reaches about 400 GFLOP/s in float32 on the same machine, even at ViT's 197-row products
// (docs/performance.md). So after freezing, each aten::linear with a constant weight becomes
// bmc::packed_linear(x, id): `id` names an entry of a process-wide registry that holds the
// packed weight, the bias and one oneDNN primitive per row count seen so far.
#include "shim/packed_linear.h"

#ifdef BMC_HAVE_ONEDNN

#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "shim/onednn.h"

namespace {

using dnnl::memory;

// Row count used to let oneDNN choose the packed weight layout. On the machines measured the
// layout does not depend on the row count; if it did for some count, oneDNN would pick a
// slower implementation for that count, never a wrong result.
constexpr int64_t kLayoutRows = 256;

// Distinct row counts whose primitive is kept per layer (text batches vary in length);
// beyond it the cache starts afresh rather than growing without bound.
constexpr size_t kMaxPrimitives = 64;

class PackedLinear {
public:
    PackedLinear(const at::Tensor &weight, const c10::optional<at::Tensor> &bias)
        : type_(weight.scalar_type()), in_(weight.size(1)), out_(weight.size(0))
    {
        if (bias)
            bias_ = bias->to(type_).contiguous().view({1, out_});
        auto any = memory::desc({in_, out_}, bmci_onednn_type(type_), memory::format_tag::any);
        weight_desc_ = describe(kLayoutRows, any).weights_desc();
        // The torch weight is [out, in] row-major, i.e. the [in, out] operand in column-major.
        at::Tensor plain_weight = weight.contiguous();
        memory plain({{in_, out_}, bmci_onednn_type(type_), memory::format_tag::ba}, bmci_onednn_engine(),
                     plain_weight.data_ptr());
        weights_ = memory(weight_desc_, bmci_onednn_engine());
        dnnl::stream stream(bmci_onednn_engine());
        dnnl::reorder(plain, weights_).execute(stream, plain, weights_);
        stream.wait();
    }

    at::Tensor run(const at::Tensor &x)
    {
        TORCH_CHECK(x.device().is_cpu() && x.scalar_type() == type_ && x.dim() >= 1 && x.size(-1) == in_,
                    "bmc::packed_linear: expected a ", c10::toString(type_), " CPU tensor with last "
                    "dimension ", in_, ", got ", x.scalar_type(), " ", x.sizes());
        at::Tensor input = x.contiguous();
        int64_t rows = input.numel() / in_;
        std::vector<int64_t> sizes = input.sizes().vec();
        sizes.back() = out_;
        at::Tensor output = at::empty(sizes, input.options());
        if (rows == 0)
            return output;
        auto [pd, product] = primitive_for(rows);
        std::unordered_map<int, memory> args{
            {DNNL_ARG_SRC, memory(pd.src_desc(), bmci_onednn_engine(), input.data_ptr())},
            {DNNL_ARG_WEIGHTS, weights_},
            {DNNL_ARG_DST, memory(pd.dst_desc(), bmci_onednn_engine(), output.data_ptr())}};
        if (bias_.defined())
            args.emplace(DNNL_ARG_BIAS, memory(pd.bias_desc(), bmci_onednn_engine(), bias_.data_ptr()));
        bmci_onednn_execute(product, pd, std::move(args));
        return output;
    }

private:
    dnnl::matmul::primitive_desc describe(int64_t rows, const memory::desc &weights) const
    {
        memory::desc src({rows, in_}, bmci_onednn_type(type_), memory::format_tag::ab);
        memory::desc dst({rows, out_}, bmci_onednn_type(type_), memory::format_tag::ab);
        dnnl::primitive_attr attr = bmci_onednn_user_scratchpad();
        if (!bias_.defined())
            return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), attr, bmci_onednn_engine());
        memory::desc bias({1, out_}, bmci_onednn_type(type_), memory::format_tag::ab);
        return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, bias, dst), attr, bmci_onednn_engine());
    }

    // oneDNN's primitives are handles: the copy returned stays valid if the cache is cleared.
    std::pair<dnnl::matmul::primitive_desc, dnnl::matmul> primitive_for(int64_t rows)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto found = primitives_.find(rows);
        if (found != primitives_.end())
            return found->second;
        if (primitives_.size() >= kMaxPrimitives)
            primitives_.clear();
        dnnl::matmul::primitive_desc pd = describe(rows, weight_desc_);
        return primitives_.emplace(rows, std::make_pair(pd, dnnl::matmul(pd))).first->second;
    }

    c10::ScalarType type_;
    int64_t in_, out_;
    at::Tensor bias_;
    memory::desc weight_desc_;
    memory weights_;
    std::mutex mutex_;
    std::unordered_map<int64_t, std::pair<dnnl::matmul::primitive_desc, dnnl::matmul>> primitives_;
};

// Layers of every loaded model; a slot is empty once its model is freed and is then reused.
struct Registry {
    std::shared_mutex mutex;
    std::vector<std::shared_ptr<PackedLinear>> layers;
    std::vector<int64_t> free_slots;
};

Registry &registry()
{
    static Registry *instance = new Registry; // never destroyed: models may outlive static teardown
    return *instance;
}

int64_t register_layer(std::shared_ptr<PackedLinear> layer)
{
    Registry &r = registry();
    std::unique_lock<std::shared_mutex> lock(r.mutex);
    if (!r.free_slots.empty()) {
        int64_t id = r.free_slots.back();
        r.free_slots.pop_back();
        r.layers[id] = std::move(layer);
        return id;
    }
    r.layers.push_back(std::move(layer));
    return (int64_t)r.layers.size() - 1;
}

at::Tensor packed_linear(const at::Tensor &x, int64_t id)
{
    std::shared_ptr<PackedLinear> layer;
    {
        Registry &r = registry();
        std::shared_lock<std::shared_mutex> lock(r.mutex);
        if (id >= 0 && id < (int64_t)r.layers.size())
            layer = r.layers[id];
    }
    TORCH_CHECK(layer, "bmc::packed_linear: layer ", id, " is not loaded");
    return layer->run(x);
}

TORCH_LIBRARY(bmc, library)
{
    library.def("packed_linear(Tensor x, int id) -> Tensor", packed_linear);
}

bool packable_weight(const at::Tensor &weight)
{
    return weight.dim() == 2 && weight.device().is_cpu() &&
           (weight.scalar_type() == c10::kFloat || weight.scalar_type() == c10::kBFloat16);
}

struct Packer {
    torch::jit::Graph &graph;
    std::vector<int64_t> &ids;
    // One packed copy per weight, also when several methods inline the same layer.
    std::unordered_map<const c10::TensorImpl *, int64_t> packed;
    std::vector<at::Tensor> keep_alive; // so no address in `packed` is reused during the pass
    int64_t count = 0;

    void rewrite(torch::jit::Block *block)
    {
        for (auto it = block->nodes().begin(); it != block->nodes().end();) {
            torch::jit::Node *node = *it++;
            for (torch::jit::Block *inner : node->blocks())
                rewrite(inner);
            if (node->kind() == c10::Symbol::fromQualString("aten::linear"))
                replace(node);
        }
    }

    void replace(torch::jit::Node *node)
    {
        c10::optional<c10::IValue> weight = torch::jit::toIValue(node->input(1));
        c10::optional<c10::IValue> bias = torch::jit::toIValue(node->input(2));
        if (!weight || !weight->isTensor() || !packable_weight(weight->toTensor()) || !bias ||
            !(bias->isNone() || bias->isTensor()))
            return;
        at::Tensor w = weight->toTensor();
        int64_t id;
        auto found = packed.find(w.unsafeGetTensorImpl());
        if (found != packed.end()) {
            id = found->second;
        } else {
            c10::optional<at::Tensor> b;
            if (bias->isTensor())
                b = bias->toTensor();
            id = register_layer(std::make_shared<PackedLinear>(w, b));
            ids.push_back(id);
            packed.emplace(w.unsafeGetTensorImpl(), id);
            keep_alive.push_back(w);
        }
        torch::jit::WithInsertPoint here(node);
        torch::jit::Value *out = graph.insert(c10::Symbol::fromQualString("bmc::packed_linear"),
                                              {node->input(0), id});
        out->setType(node->output()->type());
        node->output()->replaceAllUsesWith(out);
        node->destroy();
        ++count;
    }
};

} // namespace

int64_t bmci_pack_linear_layers(torch::jit::script::Module &module, std::vector<int64_t> &ids)
{
    int64_t count = 0;
    std::unordered_map<const c10::TensorImpl *, int64_t> packed;
    std::vector<at::Tensor> keep_alive;
    for (const auto &method : module.get_methods()) {
        std::shared_ptr<torch::jit::Graph> graph = method.graph();
        Packer packer{*graph, ids, std::move(packed), std::move(keep_alive)};
        packer.rewrite(graph->block());
        torch::jit::EliminateDeadCode(graph); // drops the graph's float copies of the weights
        count += packer.count;
        packed = std::move(packer.packed);
        keep_alive = std::move(packer.keep_alive);
    }
    return count;
}

void bmci_packed_linear_release(const std::vector<int64_t> &ids)
{
    Registry &r = registry();
    std::unique_lock<std::shared_mutex> lock(r.mutex);
    for (int64_t id : ids) {
        if (id >= 0 && id < (int64_t)r.layers.size() && r.layers[id]) {
            r.layers[id].reset();
            r.free_slots.push_back(id);
        }
    }
}

bool bmci_packed_linear_available()
{
    return true;
}

#else // built without oneDNN's headers: linear layers stay with libtorch

int64_t bmci_pack_linear_layers(torch::jit::script::Module &, std::vector<int64_t> &)
{
    return 0;
}

void bmci_packed_linear_release(const std::vector<int64_t> &) {}

bool bmci_packed_linear_available()
{
    return false;
}

#endif
