// SPDX-License-Identifier: MIT
// Segmentation decoders: a CLIPSeg-style TorchScript archive run on the tapped block outputs
// and the text embeddings of a loaded base bundle, on the base's device and dtype.
#include <torch/csrc/jit/frontend/error_report.h>
#include <torch/script.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "shim/guard.h"
#include "core/log.h"
#include "shim/segment.h"
#include "shim/torch_model.h"

struct bmci_torch_decoder {
    torch::jit::script::Module module;
    c10::ScalarType dtype = c10::kFloat;
};

namespace {

// A zip archive starts with a local file header; anything else cannot be TorchScript.
bmc_status check_archive(const char *path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        return bmci_fail(BMC_ERR_IO, "decoder: cannot open '%s': %s", path, std::strerror(errno));
    char magic[4] = {0};
    file.read(magic, 4);
    if (file.gcount() < 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "decoder: '%s' is not a TorchScript archive (no zip header)",
                         path);
    return BMC_OK;
}

bmc_status read_archive(const bmci_torch_model *base, const char *path, bmci_torch_decoder *decoder,
                        std::string *json)
{
    torch::jit::ExtraFilesMap extra{{"decoder.json", ""}, {"bundle.json", ""}};
    try {
        decoder->module = torch::jit::load(path, base->device, extra);
    } catch (const c10::Error &e) {
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "decoder: '%s' could not be read as TorchScript (%s)", path,
                         e.what_without_backtrace());
    } catch (const torch::jit::ErrorReport &) {
        // Not what(): it formats the source range of the error, which a damaged archive can
        // make throw inside a noexcept function, i.e. std::terminate (fuzz_bundle found it).
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "decoder: '%s' could not be read as TorchScript (its code "
                         "does not compile)", path);
    }
    if (extra["decoder.json"].empty() && !extra["bundle.json"].empty())
        return bmci_fail(BMC_ERR_MODEL, "decoder: '%s' is a model bundle, not a segmentation decoder", path);
    if (extra["decoder.json"].empty())
        return bmci_fail(BMC_ERR_MODEL, "decoder: '%s' is TorchScript but not a segmentation decoder (it has "
                         "no decoder.json; write decoders with tools/export/export_decoder.py)", path);
    if (!decoder->module.find_method("forward"))
        return bmci_fail(BMC_ERR_MODEL, "decoder: '%s' has no forward method", path);
    *json = extra["decoder.json"];
    return BMC_OK;
}

// As the base bundle: weights become constants so libtorch can fold around them.
void freeze_for_inference(torch::jit::script::Module &module)
{
    try {
        module = torch::jit::freeze(module, c10::nullopt, /*optimize_numerics=*/false);
    } catch (const c10::Error &e) {
        bmci_log(BMC_LOG_WARN, "decoder: running unfrozen, freezing failed: %s", e.what_without_backtrace());
    }
}

bool has_shape(const torch::Tensor &t, std::initializer_list<int64_t> sizes)
{
    return t.sizes() == c10::IntArrayRef(sizes);
}

// The tapped states of one image, each checked and repeated for every prompt (a view).
bmc_status tapped_states(const bmci_torch_model *base, const bmci_decoder_shape *shape, const float *pixels,
                         int64_t prompts, c10::ScalarType dtype, std::vector<torch::Tensor> *out)
{
    std::vector<int64_t> taps(shape->taps, shape->taps + shape->tap_count);
    auto states = bmci_torch_call(base, "image_hidden_states",
                                  {bmci_torch_pixels(base, pixels, 1, shape->image_size), c10::List<int64_t>(taps)})
                      .toTensorVector();
    if ((int64_t)states.size() != shape->tap_count)
        return bmci_fail(BMC_ERR_MODEL, "segment: image_hidden_states gave %zu states for %lld taps",
                         states.size(), (long long)shape->tap_count);
    for (size_t i = 0; i < states.size(); i++) {
        if (!has_shape(states[i], {1, shape->tokens, shape->width}))
            return bmci_fail(BMC_ERR_MODEL, "segment: tapped state %lld has shape %s, the decoder reads "
                             "[1, %lld, %lld]: the base is not the one the decoder was made for",
                             (long long)shape->taps[i], c10::str(states[i].sizes()).c_str(),
                             (long long)shape->tokens, (long long)shape->width);
        out->push_back(states[i].to(dtype).expand({prompts, shape->tokens, shape->width}));
    }
    return BMC_OK;
}

} // namespace

extern "C" bmc_status bmci_decoder_load(const bmci_torch_model *base, const char *path,
                                        bmci_torch_decoder **out, char **json)
{
    return bmci_guard("decoder load", [&]() -> bmc_status {
        c10::InferenceMode inference;
        if (!base->module.find_method("image_hidden_states"))
            return bmci_fail(BMC_ERR_MODEL, "decoder: the base bundle has no image_hidden_states method "
                             "(re-export it with this release's tools/export/export_bundle.py)");
        bmc_status status = check_archive(path);
        if (status != BMC_OK)
            return status;
        auto decoder = std::make_unique<bmci_torch_decoder>();
        std::string text;
        status = read_archive(base, path, decoder.get(), &text);
        if (status != BMC_OK)
            return status;
        decoder->module.eval();
        // The decoder runs in the base's dtype, except bfloat16 on the CPU: there libtorch 1.13's
        // bfloat16 transposed convolution rejects valid input with a channel-count error, so the
        // decoder, about 1% of the work, stays in float32 on the base's bfloat16 features.
        decoder->dtype = base->dtype == c10::kBFloat16 && base->device.is_cpu() ? c10::kFloat : base->dtype;
        if (decoder->dtype != c10::kFloat)
            decoder->module.to(decoder->dtype);
        freeze_for_inference(decoder->module);
        char *copy = static_cast<char *>(std::malloc(text.size() + 1));
        if (!copy)
            throw std::bad_alloc();
        std::memcpy(copy, text.c_str(), text.size() + 1);
        *json = copy;
        *out = decoder.release();
        return BMC_OK;
    });
}

extern "C" bmc_status bmci_decoder_run(const bmci_torch_model *base, const bmci_torch_decoder *decoder,
                                       const bmci_decoder_shape *shape, const float *pixels,
                                       const int64_t *ids, int64_t prompt_count, int64_t length,
                                       float *logits)
{
    return bmci_guard("segment", [&]() -> bmc_status {
        c10::InferenceMode inference;
        std::vector<torch::Tensor> states;
        bmc_status status = tapped_states(base, shape, pixels, prompt_count, decoder->dtype, &states);
        if (status != BMC_OK)
            return status;
        auto text = bmci_torch_call(base, "encode_text", {bmci_torch_ids(base, ids, prompt_count, length)})
                        .toTensor()
                        .to(decoder->dtype);
        auto &module = const_cast<torch::jit::script::Module &>(decoder->module);
        bmci_torch_use_threads(base);
        auto result = module.forward({c10::List<torch::Tensor>(states), text}).toTensor();
        const int64_t side = shape->map_size;
        if (!has_shape(result, {prompt_count, side, side}))
            return bmci_fail(BMC_ERR_MODEL, "segment: the decoder returned shape %s, expected [%lld, %lld, %lld]",
                             c10::str(result.sizes()).c_str(), (long long)prompt_count, (long long)side,
                             (long long)side);
        result = result.to(c10::kCPU, c10::kFloat).contiguous();
        std::memcpy(logits, result.data_ptr<float>(), sizeof(float) * prompt_count * side * side);
        return BMC_OK;
    });
}

extern "C" void bmci_decoder_free(bmci_torch_decoder *decoder)
{
    try {
        delete decoder;
    } catch (...) {
        // Nothing to report to; the memory is released regardless.
    }
}
