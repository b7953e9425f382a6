// SPDX-License-Identifier: MIT
// Loading a TorchScript bundle and running its two encoders.
#include <torch/csrc/jit/frontend/error_report.h>
#include <torch/script.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/cpu.h"
#include "core/log.h"
#include "shim/batched_matmul.h"
#include "shim/layer_norm.h"
#include "shim/guard.h"
#include "shim/packed_linear.h"
#include "shim/shim.h"
#include "shim/torch_model.h"

namespace {

const char *const required_methods[] = {"encode_image", "encode_text"};

bmc_status parse_device(const char *name, c10::Device *device)
{
    std::string text = name ? name : "cpu";
    if (text != "cpu" && text != "cuda" && text.rfind("cuda:", 0) != 0)
        return bmci_fail(BMC_ERR_DEVICE, "device '%s' is not one of cpu, cuda, cuda:N", text.c_str());
    try {
        *device = c10::Device(text);
    } catch (const c10::Error &) {
        return bmci_fail(BMC_ERR_DEVICE, "device '%s' is not one of cpu, cuda, cuda:N", text.c_str());
    }
    if (device->is_cuda()) {
        if (!torch::cuda::is_available())
            return bmci_fail(BMC_ERR_DEVICE, "device '%s': this libtorch has no usable CUDA device",
                             text.c_str());
        int64_t count = (int64_t)torch::cuda::device_count();
        if (device->has_index() && device->index() >= count)
            return bmci_fail(BMC_ERR_DEVICE, "device '%s': only %lld CUDA device(s) present",
                             text.c_str(), (long long)count);
    }
    return BMC_OK;
}

bmc_status parse_dtype(int32_t dtype, const c10::Device &device, c10::ScalarType *out)
{
    switch (dtype) {
    case BMC_DTYPE_F32: *out = c10::kFloat; return BMC_OK;
    case BMC_DTYPE_F16: *out = c10::kHalf; break;
    case BMC_DTYPE_BF16: *out = c10::kBFloat16; break;
    default: return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "dtype %d is not a BMC_DTYPE_* value", dtype);
    }
    if (device.is_cuda())
        return BMC_OK;
    if (*out == c10::kHalf)
        return bmci_fail(BMC_ERR_DEVICE, "float16 runs on CUDA devices only; use float32 (or bfloat16 "
                         "where the CPU has AVX512_BF16 or AMX) on %s", device.str().c_str());
    // Without native bfloat16 instructions oneDNN emulates it, slower than float32: refuse.
    if (!bmci_cpu_runs_bf16())
        return bmci_fail(BMC_ERR_DEVICE, "bfloat16 on the CPU needs AVX512_BF16 or AMX-BF16, which this "
                         "CPU lacks; use float32 on %s", device.str().c_str());
    return BMC_OK;
}

char *copy_string(const std::string &text)
{
    char *copy = static_cast<char *>(std::malloc(text.size() + 1));
    if (!copy)
        throw std::bad_alloc();
    std::memcpy(copy, text.data(), text.size());
    copy[text.size()] = '\0';
    return copy;
}

// A zip archive starts with a local file header; anything else cannot be TorchScript.
bmc_status check_readable_archive(const char *path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        return bmci_fail(BMC_ERR_IO, "model: cannot open '%s': %s", path, std::strerror(errno));
    char magic[4] = {0};
    file.read(magic, 4);
    if (file.gcount() < 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "model: '%s' is not a TorchScript archive (no zip header)",
                         path);
    return BMC_OK;
}

bmc_status load_archive(const char *path, const c10::Device &device, bmci_torch_model *model,
                        bmci_bundle_files *files)
{
    torch::jit::ExtraFilesMap extra{{"bundle.json", ""}, {"vocab.txt", ""}};
    try {
        model->module = torch::jit::load(path, device, extra);
    } catch (const c10::Error &e) {
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "model: '%s' could not be read as TorchScript (%s); "
                         "an open_clip checkpoint must first be converted with tools/export/export_bundle.py",
                         path, e.what_without_backtrace());
    } catch (const torch::jit::ErrorReport &) {
        // Not what(): it formats the source range of the error, which a damaged archive can
        // make throw inside a noexcept function, i.e. std::terminate (fuzz_bundle found it).
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "model: '%s' could not be read as TorchScript (its code "
                         "does not compile)", path);
    }
    if (extra["bundle.json"].empty())
        return bmci_fail(BMC_ERR_MODEL, "model: '%s' is TorchScript but not a biomedclip bundle "
                         "(it has no bundle.json; write bundles with tools/export/export_bundle.py)", path);
    if (extra["vocab.txt"].empty())
        return bmci_fail(BMC_ERR_MODEL, "model: '%s' has no vocab.txt", path);
    for (const char *name : required_methods)
        if (!model->module.find_method(name))
            return bmci_fail(BMC_ERR_MODEL, "model: '%s' has no %s method", path, name);
    // copy_string throws std::bad_alloc: the first copy must not leak when the second fails.
    std::unique_ptr<char, void (*)(void *)> json(copy_string(extra["bundle.json"]), std::free);
    files->vocab = copy_string(extra["vocab.txt"]);
    files->bundle_json = json.release();
    files->vocab_size = extra["vocab.txt"].size();
    return BMC_OK;
}

// On the CPU a forward pass gains nothing from more than a few hundred token rows (the matrix
// products are already efficient), and libtorch's bfloat16 element-wise kernels slow down once
// the activations outgrow the caches: measured on the full-size image tower in bfloat16,
// batch 8 ran at 7.2 images/s, batch 2 at 12.8. So CPU batches run in chunks of about this many
// token rows (at least one item); GPUs take the whole batch.
constexpr int64_t kCpuRowsPerForward = 512;

// Runs `method` on `input` ([count, ...], `rows_per_item` tokens each) and copies the
// [count, dim] float32 result to host memory.
bmc_status run_encoder(const bmci_torch_model *model, const char *method, torch::Tensor input,
                       int64_t count, int64_t rows_per_item, float *out, int64_t dim)
{
    int64_t chunk = count;
    if (model->device.is_cpu())
        chunk = std::max<int64_t>(1, kCpuRowsPerForward / std::max<int64_t>(1, rows_per_item));
    for (int64_t start = 0; start < count; start += chunk) {
        int64_t n = std::min(chunk, count - start);
        torch::Tensor features = bmci_torch_call(model, method, {input.narrow(0, start, n)}).toTensor();
        if (features.dim() != 2 || features.size(0) != n || features.size(1) != dim)
            return bmci_fail(BMC_ERR_MODEL, "model: %s returned shape %s, expected [%lld, %lld]", method,
                             c10::str(features.sizes()).c_str(), (long long)n, (long long)dim);
        features = features.to(c10::kCPU, c10::kFloat).contiguous();
        std::memcpy(out + start * dim, features.data_ptr<float>(), sizeof(float) * n * dim);
    }
    return BMC_OK;
}

// Freezing inlines the weights as constants and lets libtorch fold and fuse around them
// (linear transposes, constant propagation): faster forwards with the same arithmetic.
// Every method is kept, so optional heads' methods stay reachable.
void freeze_for_inference(torch::jit::script::Module &module)
{
    std::vector<std::string> methods;
    for (const auto &method : module.get_methods())
        methods.push_back(method.name());
    try {
        module = torch::jit::freeze(module, methods, /*optimize_numerics=*/false);
    } catch (const c10::Error &e) {
        bmci_log(BMC_LOG_WARN, "model: running unfrozen, freezing failed: %s", e.what_without_backtrace());
    }
}

// Loading reads every weight, and packing then frees the float copies of the linear layers
// (most of the model). Once glibc has seen large blocks freed it serves blocks of that size
// from its heap instead of fresh mappings, and keeps what is freed there: a second model
// loaded into the same process stayed 0.65 GB over its size until trimmed, and peaked at 1.6x
// its size while the float copies were being freed (full-size model, tests/test_model.c's
// resident-memory check). So the packing hands the pages back as it goes, and the load once
// more at its end; each call costs milliseconds next to the load's seconds.
void return_freed_memory()
{
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

// On the CPU, linear layers run on weights that oneDNN packed once (packed_linear.cpp), about
// twice as fast as libtorch's own float32 path here. A failure to pack is not fatal: the model
// then runs as libtorch would.
void pack_linear_layers(bmci_torch_model *model)
{
    if (!model->device.is_cpu() || !bmci_packed_linear_available())
        return;
    try {
        int64_t uses = bmci_pack_linear_layers(model->module, model->packed_linear_ids, return_freed_memory);
        int64_t products = bmci_route_matmuls(model->module);
        int64_t norms = bmci_route_layer_norms(model->module);
        bmci_log(BMC_LOG_DEBUG, "model: %lld linear layers packed for oneDNN (used %lld times over the "
                 "methods), %lld products and %lld layer norms routed to it",
                 (long long)model->packed_linear_ids.size(), (long long)uses, (long long)products,
                 (long long)norms);
    } catch (const std::exception &e) {
        bmci_log(BMC_LOG_WARN, "model: linear layers stay with libtorch, packing them failed: %s", e.what());
    }
}

} // namespace

bmci_torch_model::~bmci_torch_model()
{
    // The graphs name their layers by id: drop the module (and its graphs) first.
    module = torch::jit::script::Module();
    bmci_packed_linear_release(packed_linear_ids);
}

torch::Tensor bmci_torch_pixels(const bmci_torch_model *model, const float *pixels, int64_t count,
                                int64_t image_size)
{
    auto host = torch::from_blob(const_cast<float *>(pixels), {count, 3, image_size, image_size},
                                 torch::kFloat);
    return host.to(model->device, model->dtype);
}

torch::Tensor bmci_torch_ids(const bmci_torch_model *model, const int64_t *ids, int64_t count,
                             int64_t length)
{
    auto host = torch::from_blob(const_cast<int64_t *>(ids), {count, length}, torch::kLong);
    return host.to(model->device);
}

c10::IValue bmci_torch_call(const bmci_torch_model *model, const char *method,
                            std::vector<c10::IValue> inputs)
{
    auto &module = const_cast<torch::jit::script::Module &>(model->module);
    bmci_torch_use_threads(model);
    return module.get_method(method)(std::move(inputs));
}

extern "C" bmc_status bmci_torch_load(const char *path, const char *device_name, int32_t dtype,
                                      bmci_torch_model **out, bmci_bundle_files *files)
{
    return bmci_guard("model load", [&]() -> bmc_status {
        c10::InferenceMode inference;
        c10::Device device(c10::kCPU);
        c10::ScalarType scalar_type = c10::kFloat;
        bmc_status status = parse_device(device_name, &device);
        if (status == BMC_OK)
            status = parse_dtype(dtype, device, &scalar_type);
        if (status == BMC_OK)
            status = check_readable_archive(path);
        if (status != BMC_OK)
            return status;
        auto model = std::make_unique<bmci_torch_model>();
        bmci_bundle_files loaded = {nullptr, nullptr, 0};
        status = load_archive(path, device, model.get(), &loaded);
        if (status != BMC_OK) {
            std::free(loaded.bundle_json);
            std::free(loaded.vocab);
            return status;
        }
        model->device = device;
        model->dtype = scalar_type;
        model->module.eval();
        if (scalar_type != c10::kFloat)
            model->module.to(scalar_type);
        freeze_for_inference(model->module);
        pack_linear_layers(model.get());
        return_freed_memory();
        *files = loaded;
        *out = model.release();
        return BMC_OK;
    });
}

extern "C" int bmci_torch_has_method(const bmci_torch_model *model, const char *name)
{
    try {
        return model && name && model->module.find_method(name) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

extern "C" bmc_status bmci_torch_encode_image(const bmci_torch_model *model, const float *pixels,
                                              int64_t count, int64_t image_size, float *out, int64_t dim)
{
    return bmci_guard("encode_image", [&] {
        c10::InferenceMode inference;
        // Token rows per image, for chunking only: ViT-B/16's 16-pixel patches and a class token.
        int64_t tokens = (image_size / 16) * (image_size / 16) + 1;
        return run_encoder(model, "encode_image", bmci_torch_pixels(model, pixels, count, image_size),
                           count, tokens, out, dim);
    });
}

extern "C" bmc_status bmci_torch_encode_text(const bmci_torch_model *model, const int64_t *ids,
                                             int64_t count, int64_t length, float *out, int64_t dim)
{
    return bmci_guard("encode_text", [&] {
        c10::InferenceMode inference;
        return run_encoder(model, "encode_text", bmci_torch_ids(model, ids, count, length), count, length,
                           out, dim);
    });
}

extern "C" int bmci_torch_on_cpu(const bmci_torch_model *model)
{
    return model->device.is_cpu() ? 1 : 0;
}

extern "C" void bmci_torch_free(bmci_torch_model *model)
{
    try {
        delete model;
    } catch (...) {
        // A destructor that throws has nowhere to report to; the memory is released regardless.
    }
}
