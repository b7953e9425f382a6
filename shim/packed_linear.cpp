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
//
// On short texts the products are small and the element-wise passes around them weigh as much
// (docs/performance.md), so work that can ride on the product's output while it is still in
// cache does, as oneDNN post-ops: a linear whose result is added to a residual becomes
// bmc::packed_linear_add (float32: the same arithmetic, the product rounded, then the add;
// bfloat16: rounded once instead of twice). A linear followed by GELU (erf form, PyTorch's
// default) becomes bmc::packed_linear_gelu, in both dtypes: libtorch 1.13's own bfloat16 GELU
// is a slow pass of its own, and its float32 one is a separate pass over a fresh tensor (in
// oneDNN's eltwise kernel, by the profile; the parity tests read the same differences to the
// reference with the post-op). On a 2-core AVX-512 machine the post-op added 0.07-0.1 ms to
// ViT's 197 x 768 x 3072 product where the separate pass took about 0.3 ms inside the forward;
// the image tower at batch 1 ran 0.7-2.3% faster in float32 (alternated runs).
#include "shim/packed_linear.h"

#ifdef BMC_HAVE_ONEDNN

#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <tuple>
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

// Weights freed between two calls of the caller's return_freed: glibc keeps what is freed of
// blocks under its (adaptive) mapping threshold, so without them a second model's load still
// peaked at 1.6x its size (full-size model); each call costs a few milliseconds.
constexpr int64_t kReturnFreedBytes = 64 << 20;

// What a layer does with the product before it is written out.
enum class Post : int64_t { none = 0, gelu = 1, add = 2 };

class PackedLinear {
public:
    PackedLinear(const at::Tensor &weight, const c10::optional<at::Tensor> &bias)
        : type_(weight.scalar_type()), in_(weight.size(1)), out_(weight.size(0))
    {
        if (bias)
            bias_ = bias->to(type_).contiguous().view({1, out_});
        auto any = memory::desc({in_, out_}, bmci_onednn_type(type_), memory::format_tag::any);
        weight_desc_ = padded_if_plain(describe(kLayoutRows, any).weights_desc());
        // The torch weight is [out, in] row-major, i.e. the [in, out] operand in column-major.
        at::Tensor plain_weight = weight.contiguous();
        memory plain({{in_, out_}, bmci_onednn_type(type_), memory::format_tag::ba}, bmci_onednn_engine(),
                     plain_weight.data_ptr());
        weights_ = memory(weight_desc_, bmci_onednn_engine());
        dnnl::stream stream(bmci_onednn_engine());
        dnnl::reorder(plain, weights_).execute(stream, plain, weights_);
        stream.wait();
    }

    // `residual` is used with Post::add only: the result is product + bias + residual.
    at::Tensor run(const at::Tensor &x, Post post = Post::none, const at::Tensor &residual = at::Tensor())
    {
        TORCH_CHECK(x.device().is_cpu() && x.scalar_type() == type_ && x.dim() >= 1 && x.size(-1) == in_,
                    "bmc::packed_linear: expected a ", c10::toString(type_), " CPU tensor with last "
                    "dimension ", in_, ", got ", x.scalar_type(), " ", x.sizes());
        at::Tensor input = x.contiguous();
        int64_t rows = input.numel() / in_;
        std::vector<int64_t> sizes = input.sizes().vec();
        sizes.back() = out_;
        at::Tensor output = at::empty(sizes, input.options());
        // A residual that is not exactly the output's shape and type (broadcasting, another
        // dtype) is added by libtorch afterwards, as the graph did.
        at::Tensor addend;
        if (post == Post::add) {
            if (residual.scalar_type() == type_ && residual.sizes().vec() == sizes && residual.device().is_cpu())
                addend = residual.contiguous();
            else
                return at::add(run(x), residual);
        }
        if (rows == 0)
            return output;
        Primitive p = primitive_for(rows, post);
        if (!p.fused) { // oneDNN has no fast kernel for this post-op here: libtorch applies it
            at::Tensor plain = run(x);
            return post == Post::gelu ? at::gelu(plain) : at::add(plain, residual);
        }
        dnnl::engine &engine = bmci_onednn_engine();
        std::unordered_map<int, memory> args{
            {DNNL_ARG_SRC, memory(p.pd.src_desc(), engine, input.data_ptr())},
            {DNNL_ARG_WEIGHTS, weights_},
            {DNNL_ARG_DST, memory(p.pd.dst_desc(), engine, output.data_ptr())}};
        if (bias_.defined())
            args.emplace(DNNL_ARG_BIAS, memory(p.pd.bias_desc(), engine, bias_.data_ptr()));
        if (post == Post::add)
            args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                         memory(p.pd.dst_desc(), engine, addend.data_ptr()));
        bmci_onednn_execute(p.product, p.pd, std::move(args));
        return output;
    }

private:
    // Where oneDNN keeps the weights row-major (its gemm:jit on AVX2 machines; the blocked
    // layouts of AVX-512 are left alone), each row of out_ values is padded by one cache line.
    // Unpadded, ViT's 768 x 3072 weight ran at half speed at 197 rows (10.1 ms against 5.1 at
    // two threads on a Zen 3 machine; one thread 20.1 against 10.2 ms), its rows 12 KB apart
    // (3 x 4 KB) meeting in the same cache sets, and the other three shapes 4-12% slower; at 480
    // and 6,304 rows the padding measured no different (docs/performance.md).
    memory::desc padded_if_plain(const memory::desc &chosen) const
    {
        const dnnl_memory_desc_t &d = chosen.data;
        if (d.format_kind != dnnl_blocked || d.format_desc.blocking.inner_nblks != 0 ||
            d.format_desc.blocking.strides[1] != 1)
            return chosen;
        int64_t line = 64 / (int64_t)memory::data_type_size(bmci_onednn_type(type_));
        return memory::desc({in_, out_}, bmci_onednn_type(type_), memory::dims{out_ + line, 1});
    }

    struct Primitive {
        dnnl::matmul::primitive_desc pd;
        dnnl::matmul product;
        bool fused = true; // false: oneDNN would run the post-op only in its reference code
    };

    dnnl::matmul::primitive_desc describe(int64_t rows, const memory::desc &weights, Post post = Post::none) const
    {
        memory::desc src({rows, in_}, bmci_onednn_type(type_), memory::format_tag::ab);
        memory::desc dst({rows, out_}, bmci_onednn_type(type_), memory::format_tag::ab);
        dnnl::primitive_attr attr = bmci_onednn_user_scratchpad();
        dnnl::post_ops ops;
        if (post == Post::gelu)
            ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
        else if (post == Post::add)
            ops.append_binary(dnnl::algorithm::binary_add, dst);
        attr.set_post_ops(ops);
        if (!bias_.defined())
            return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), attr, bmci_onednn_engine());
        memory::desc bias({1, out_}, bmci_onednn_type(type_), memory::format_tag::ab);
        return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, bias, dst), attr, bmci_onednn_engine());
    }

    // oneDNN's primitives are handles: the copy returned stays valid if the cache is cleared.
    Primitive primitive_for(int64_t rows, Post post)
    {
        int64_t key = rows * 4 + (int64_t)post;
        std::lock_guard<std::mutex> lock(mutex_);
        auto found = primitives_.find(key);
        if (found != primitives_.end())
            return found->second;
        if (primitives_.size() >= kMaxPrimitives)
            primitives_.clear();
        Primitive p;
        p.pd = describe(rows, weight_desc_, post);
        p.fused = post == Post::none || std::string(p.pd.impl_info_str()).rfind("ref", 0) != 0;
        if (p.fused)
            p.product = dnnl::matmul(p.pd);
        return primitives_.emplace(key, p).first->second;
    }

    c10::ScalarType type_;
    int64_t in_, out_;
    at::Tensor bias_;
    memory::desc weight_desc_;
    memory weights_;
    std::mutex mutex_;
    std::unordered_map<int64_t, Primitive> primitives_; // by row count and post-op
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

std::shared_ptr<PackedLinear> layer_for(int64_t id)
{
    std::shared_ptr<PackedLinear> layer;
    {
        Registry &r = registry();
        std::shared_lock<std::shared_mutex> lock(r.mutex);
        if (id >= 0 && id < (int64_t)r.layers.size())
            layer = r.layers[id];
    }
    TORCH_CHECK(layer, "bmc::packed_linear: layer ", id, " is not loaded");
    return layer;
}

at::Tensor packed_linear(const at::Tensor &x, int64_t id)
{
    return layer_for(id)->run(x);
}

at::Tensor packed_linear_gelu(const at::Tensor &x, int64_t id)
{
    return layer_for(id)->run(x, Post::gelu);
}

at::Tensor packed_linear_add(const at::Tensor &x, int64_t id, const at::Tensor &residual)
{
    return layer_for(id)->run(x, Post::add, residual);
}

TORCH_LIBRARY(bmc, library)
{
    library.def("packed_linear(Tensor x, int id) -> Tensor", packed_linear);
    library.def("packed_linear_gelu(Tensor x, int id) -> Tensor", packed_linear_gelu);
    library.def("packed_linear_add(Tensor x, int id, Tensor residual) -> Tensor", packed_linear_add);
}

bool packable_weight(const at::Tensor &weight)
{
    return weight.dim() == 2 && weight.device().is_cpu() &&
           (weight.scalar_type() == c10::kFloat || weight.scalar_type() == c10::kBFloat16);
}

// A layer by where its weight's and bias's values are: freezing gives every method that inlines
// a layer its own tensor objects over the same storage, so the objects cannot be the key (keyed
// so, the full-size bundle's 125 layers were packed 414 times over its six methods, 1.6 GB).
using LayerKey = std::tuple<const void *, int64_t, int64_t, int64_t, int64_t, int, const void *>;

LayerKey layer_key(const at::Tensor &weight, const c10::optional<at::Tensor> &bias)
{
    return LayerKey(weight.data_ptr(), weight.size(0), weight.size(1), weight.stride(0), weight.stride(1),
                    (int)weight.scalar_type(), bias ? bias->data_ptr() : nullptr);
}

// A linear node of some method's graph whose weight is a constant oneDNN can pack.
struct LinearUse {
    torch::jit::Graph *graph;
    torch::jit::Node *node;
    at::Tensor weight;
    c10::optional<at::Tensor> bias;
};

struct Packer {
    std::vector<int64_t> &ids;
    const std::function<void()> &return_freed;
    int64_t freed_bytes = 0; // since return_freed was last called
    int64_t count = 0;

    // Every packable linear node of `block` and the blocks inside it.
    static void collect(torch::jit::Graph &graph, torch::jit::Block *block, std::vector<LinearUse> &uses)
    {
        for (torch::jit::Node *node : block->nodes()) {
            for (torch::jit::Block *inner : node->blocks())
                collect(graph, inner, uses);
            if (node->kind() != c10::Symbol::fromQualString("aten::linear"))
                continue;
            c10::optional<c10::IValue> weight = torch::jit::toIValue(node->input(1));
            c10::optional<c10::IValue> bias = torch::jit::toIValue(node->input(2));
            if (!weight || !weight->isTensor() || !packable_weight(weight->toTensor()) || !bias ||
                !(bias->isNone() || bias->isTensor()))
                continue;
            LinearUse use{&graph, node, weight->toTensor(), c10::nullopt};
            if (bias->isTensor())
                use.bias = bias->toTensor();
            uses.push_back(std::move(use));
        }
    }

    // Packs one layer and rewrites all its uses, over every method, before the next layer, so
    // that each float weight is freed as soon as it is packed (its last references are the
    // graphs' constants, destroyed here, and `uses`): the load then peaks at the model's size
    // plus one layer instead of twice the model.
    void pack(std::vector<LinearUse> &uses)
    {
        int64_t id = register_layer(std::make_shared<PackedLinear>(uses[0].weight, uses[0].bias));
        ids.push_back(id);
        int64_t bytes = (int64_t)uses[0].weight.nbytes();
        for (LinearUse &use : uses) {
            torch::jit::Value *weight = use.node->input(1), *bias = use.node->input(2);
            replace(*use.graph, use.node, id);
            drop_if_unused(weight);
            drop_if_unused(bias);
            use.bias.reset();
            if (use.weight.use_count() == 1 && use.weight.storage().use_count() == 1)
                freed_bytes += bytes;
            use.weight.reset();
        }
        if (freed_bytes >= kReturnFreedBytes) {
            return_freed();
            freed_bytes = 0;
        }
    }

    static void drop_if_unused(torch::jit::Value *value)
    {
        if (value->uses().empty() && value->node()->kind() == c10::prim::Constant)
            value->node()->destroy();
    }

    void replace(torch::jit::Graph &graph, torch::jit::Node *node, int64_t id)
    {
        // The one consumer of the product, when it is a GELU or an add that can ride on it.
        torch::jit::Node *consumer = nullptr;
        torch::jit::Value *residual = nullptr;
        Post post = Post::none;
        if (node->output()->uses().size() == 1) {
            torch::jit::Node *use = node->output()->uses()[0].user;
            if (is_erf_gelu(use)) {
                consumer = use;
                post = Post::gelu;
            } else if ((residual = residual_of(use, node->output())) != nullptr) {
                consumer = use;
                post = Post::add;
            }
        }
        torch::jit::Node *replaced = consumer ? consumer : node;
        torch::jit::WithInsertPoint here(replaced); // after every input of both nodes
        torch::jit::Value *out;
        if (post == Post::gelu)
            out = graph.insert(c10::Symbol::fromQualString("bmc::packed_linear_gelu"), {node->input(0), id});
        else if (post == Post::add)
            out = graph.insert(c10::Symbol::fromQualString("bmc::packed_linear_add"),
                               {node->input(0), id, residual});
        else
            out = graph.insert(c10::Symbol::fromQualString("bmc::packed_linear"), {node->input(0), id});
        out->setType(replaced->output()->type());
        replaced->output()->replaceAllUsesWith(out);
        if (consumer)
            consumer->destroy();
        node->destroy();
        ++count;
    }

    // aten::gelu(x, approximate="none"): the erf form that oneDNN's eltwise_gelu_erf computes.
    static bool is_erf_gelu(torch::jit::Node *use)
    {
        if (use->kind() != c10::Symbol::fromQualString("aten::gelu") || use->inputs().size() != 2)
            return false;
        c10::optional<c10::IValue> approximate = torch::jit::toIValue(use->input(1));
        return approximate && approximate->isString() && approximate->toStringRef() == "none";
    }

    // For aten::add(a, b, alpha=1) with `product` as one operand, the other tensor operand.
    static torch::jit::Value *residual_of(torch::jit::Node *use, torch::jit::Value *product)
    {
        if (use->kind() != c10::Symbol::fromQualString("aten::add") || use->inputs().size() != 3)
            return nullptr;
        c10::optional<c10::IValue> alpha = torch::jit::toIValue(use->input(2));
        if (!alpha || !((alpha->isInt() && alpha->toInt() == 1) || (alpha->isDouble() && alpha->toDouble() == 1.0)))
            return nullptr;
        torch::jit::Value *other = use->input(0) == product ? use->input(1) : use->input(0);
        if (other == product || !other->type()->cast<c10::TensorType>())
            return nullptr;
        return other;
    }
};

} // namespace

int64_t bmci_pack_linear_layers(torch::jit::script::Module &module, std::vector<int64_t> &ids,
                                const std::function<void()> &return_freed)
{
    // The graphs are held here: a method's graph() is a handle to the one its function runs.
    std::vector<std::shared_ptr<torch::jit::Graph>> graphs;
    std::vector<LinearUse> all;
    for (const auto &method : module.get_methods()) {
        graphs.push_back(method.graph());
        Packer::collect(*graphs.back(), graphs.back()->block(), all);
    }
    // The uses of each layer, in the order the layers first appear. Every weight is still held
    // (by `all`) while the keys are taken, so no two layers' keys can share a freed address.
    std::map<LayerKey, size_t> layer_of;
    std::vector<std::vector<LinearUse>> layers;
    for (LinearUse &use : all) {
        auto found = layer_of.emplace(layer_key(use.weight, use.bias), layers.size()).first;
        if (found->second == layers.size())
            layers.emplace_back();
        layers[found->second].push_back(std::move(use));
    }
    all.clear();
    Packer packer{ids, return_freed};
    for (std::vector<LinearUse> &uses : layers)
        packer.pack(uses);
    for (const auto &graph : graphs)
        torch::jit::EliminateDeadCode(graph);
    return packer.count;
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

int64_t bmci_pack_linear_layers(torch::jit::script::Module &, std::vector<int64_t> &,
                                const std::function<void()> &)
{
    return 0;
}

void bmci_packed_linear_release(const std::vector<int64_t> &) {}

bool bmci_packed_linear_available()
{
    return false;
}

#endif
