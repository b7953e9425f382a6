// SPDX-License-Identifier: MIT
// VQA heads: a TorchScript archive run on the image and question features of a loaded base
// bundle, on the base's device and dtype.
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
#include "shim/torch_model.h"
#include "shim/vqa.h"

struct bmci_vqa_head {
    torch::jit::script::Module module;
};

namespace {

// A zip archive starts with a local file header; anything else cannot be TorchScript.
bmc_status check_archive(const char *path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        return bmci_fail(BMC_ERR_IO, "vqa: cannot open '%s': %s", path, std::strerror(errno));
    char magic[4] = {0};
    file.read(magic, 4);
    if (file.gcount() < 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "vqa: '%s' is not a TorchScript archive (no zip header)", path);
    return BMC_OK;
}

bmc_status read_archive(const bmci_torch_model *base, const char *path, bmci_vqa_head *head,
                        std::string *json)
{
    torch::jit::ExtraFilesMap extra{{"vqa_head.json", ""}, {"bundle.json", ""}};
    try {
        head->module = torch::jit::load(path, base->device, extra);
    } catch (const c10::Error &e) {
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "vqa: '%s' could not be read as TorchScript (%s)", path,
                         e.what_without_backtrace());
    } catch (const torch::jit::ErrorReport &) {
        // Not what(): it formats the source range of the error, which a damaged archive can
        // make throw inside a noexcept function, i.e. std::terminate (fuzz_bundle found it).
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "vqa: '%s' could not be read as TorchScript (its code "
                         "does not compile)", path);
    }
    if (extra["vqa_head.json"].empty() && !extra["bundle.json"].empty())
        return bmci_fail(BMC_ERR_MODEL, "vqa: '%s' is a model bundle, not a VQA head", path);
    if (extra["vqa_head.json"].empty())
        return bmci_fail(BMC_ERR_MODEL, "vqa: '%s' is TorchScript but not a VQA head (it has no "
                         "vqa_head.json; write heads with tools/train/train_vqa.py or tools/export/export_vqa_head.py)",
                         path);
    if (!head->module.find_method("forward"))
        return bmci_fail(BMC_ERR_MODEL, "vqa: '%s' has no forward method", path);
    *json = extra["vqa_head.json"];
    return BMC_OK;
}

// As the base bundle: weights become constants so libtorch can fold around them.
void freeze_for_inference(torch::jit::script::Module &module)
{
    try {
        module = torch::jit::freeze(module, c10::nullopt, /*optimize_numerics=*/false);
    } catch (const c10::Error &e) {
        bmci_log(BMC_LOG_WARN, "vqa: running the head unfrozen, freezing failed: %s", e.what_without_backtrace());
    }
}

// The last non-empty line of a libtorch message: for TorchScript errors, the failure itself
// after the two tracebacks.
std::string last_line(const std::string &message)
{
    size_t end = message.find_last_not_of("\n ");
    if (end == std::string::npos)
        return message;
    size_t start = message.rfind('\n', end);
    return message.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1));
}

bool has_shape(const torch::Tensor &t, std::initializer_list<int64_t> sizes)
{
    return t.sizes() == c10::IntArrayRef(sizes);
}

torch::Tensor empty_like_base(const bmci_torch_model *base)
{
    return torch::zeros({0}, torch::TensorOptions().device(base->device).dtype(base->dtype));
}

// The head's six inputs, in the order of its forward().
struct HeadInputs {
    torch::Tensor image_tokens, image_embedding, question_tokens, question_mask, question_embedding,
        image_index;

    std::vector<c10::IValue> values() const
    {
        return {image_tokens, image_embedding, question_tokens, question_mask, question_embedding,
                image_index};
    }
};

// Runs the head and checks that it gave [count, answers] logits.
bmc_status run_head(const bmci_torch_model *base, const bmci_vqa_head *head, const HeadInputs &inputs,
                    int64_t count, int64_t answers, torch::Tensor *logits)
{
    auto &module = const_cast<torch::jit::script::Module &>(head->module);
    bmci_torch_use_threads(base);
    *logits = module.forward(inputs.values()).toTensor();
    if (!has_shape(*logits, {count, answers}))
        return bmci_fail(BMC_ERR_MODEL, "vqa: the head returned shape %s, expected [%lld, %lld] (one logit "
                         "per answer of its answer list)", c10::str(logits->sizes()).c_str(),
                         (long long)count, (long long)answers);
    return BMC_OK;
}

bmc_status check_feature(const char *what, const torch::Tensor &t, std::initializer_list<int64_t> sizes)
{
    if (has_shape(t, sizes))
        return BMC_OK;
    std::vector<int64_t> expected(sizes);
    return bmci_fail(BMC_ERR_MODEL, "vqa: the base model's %s have shape %s, the head reads %s: the base is "
                     "not the model the head was trained on", what, c10::str(t.sizes()).c_str(),
                     c10::str(c10::IntArrayRef(expected)).c_str());
}

// The base features of one image and `count` questions that the head reads; the others empty.
bmc_status base_features(const bmci_torch_model *base, const bmci_vqa_shape *shape, const float *pixels,
                         int64_t image_size, const int64_t *ids, int64_t count, int64_t length,
                         int64_t pad_id, HeadInputs *in)
{
    torch::Tensor empty = empty_like_base(base);
    torch::Tensor image = bmci_torch_pixels(base, pixels, 1, image_size);
    torch::Tensor tokens = bmci_torch_ids(base, ids, count, length);
    bmc_status status = BMC_OK;
    in->image_tokens = in->image_embedding = in->question_tokens = in->question_embedding = empty;
    if (shape->features & BMCI_VQA_IMAGE_TOKENS) {
        in->image_tokens = bmci_torch_call(base, "encode_image_tokens", {image}).toTensor();
        // Any number of tokens will do: attention reads them all.
        int64_t tokens_per_image = in->image_tokens.dim() == 3 ? in->image_tokens.size(1) : -1;
        status = check_feature("image tokens", in->image_tokens, {1, tokens_per_image, shape->vision_width});
    }
    if (status == BMC_OK && (shape->features & BMCI_VQA_IMAGE_EMBEDDING)) {
        in->image_embedding = bmci_torch_call(base, "encode_image", {image}).toTensor();
        status = check_feature("image embeddings", in->image_embedding, {1, shape->embed_dim});
    }
    if (status == BMC_OK && (shape->features & BMCI_VQA_QUESTION_TOKENS)) {
        in->question_tokens = bmci_torch_call(base, "encode_text_tokens", {tokens}).toTensor();
        status = check_feature("question tokens", in->question_tokens, {count, length, shape->text_width});
    }
    if (status == BMC_OK && (shape->features & BMCI_VQA_QUESTION_EMBEDDING)) {
        in->question_embedding = bmci_torch_call(base, "encode_text", {tokens}).toTensor();
        status = check_feature("question embeddings", in->question_embedding, {count, shape->embed_dim});
    }
    in->question_mask = tokens.ne(pad_id);
    in->image_index = torch::zeros({count}, torch::TensorOptions().device(base->device).dtype(torch::kLong));
    return status;
}

// A batch of two questions of three tokens about one image of two tokens, all zero except
// the mask: enough to run every layer of the head with the widths it declares.
HeadInputs dummy_inputs(const bmci_torch_model *base, const bmci_vqa_shape *shape)
{
    auto options = torch::TensorOptions().device(base->device).dtype(base->dtype);
    torch::Tensor empty = empty_like_base(base);
    const uint32_t f = shape->features;
    HeadInputs in;
    in.image_tokens = f & BMCI_VQA_IMAGE_TOKENS ? torch::zeros({1, 2, shape->vision_width}, options) : empty;
    in.image_embedding = f & BMCI_VQA_IMAGE_EMBEDDING ? torch::ones({1, shape->embed_dim}, options) : empty;
    in.question_tokens = f & BMCI_VQA_QUESTION_TOKENS ? torch::zeros({2, 3, shape->text_width}, options) : empty;
    in.question_embedding = f & BMCI_VQA_QUESTION_EMBEDDING ? torch::ones({2, shape->embed_dim}, options) : empty;
    in.question_mask = torch::ones({2, 3}, torch::TensorOptions().device(base->device).dtype(torch::kBool));
    in.image_index = torch::zeros({2}, torch::TensorOptions().device(base->device).dtype(torch::kLong));
    return in;
}

} // namespace

extern "C" bmc_status bmci_vqa_head_load(const bmci_torch_model *base, const char *path, bmci_vqa_head **out,
                                         char **json)
{
    return bmci_guard("vqa head load", [&]() -> bmc_status {
        c10::InferenceMode inference;
        bmc_status status = check_archive(path);
        if (status != BMC_OK)
            return status;
        auto head = std::make_unique<bmci_vqa_head>();
        std::string text;
        status = read_archive(base, path, head.get(), &text);
        if (status != BMC_OK)
            return status;
        head->module.eval();
        if (base->dtype != c10::kFloat)
            head->module.to(base->dtype);
        freeze_for_inference(head->module);
        char *copy = static_cast<char *>(std::malloc(text.size() + 1));
        if (!copy)
            throw std::bad_alloc();
        std::memcpy(copy, text.c_str(), text.size() + 1);
        *json = copy;
        *out = head.release();
        return BMC_OK;
    });
}

extern "C" bmc_status bmci_vqa_head_check(const bmci_torch_model *base, const bmci_vqa_head *head,
                                          const bmci_vqa_shape *shape)
{
    static const struct {
        uint32_t flag;
        const char *method;
    } needs[] = {{BMCI_VQA_IMAGE_TOKENS, "encode_image_tokens"},
                 {BMCI_VQA_IMAGE_EMBEDDING, "encode_image"},
                 {BMCI_VQA_QUESTION_TOKENS, "encode_text_tokens"},
                 {BMCI_VQA_QUESTION_EMBEDDING, "encode_text"}};
    for (const auto &need : needs)
        if ((shape->features & need.flag) && !bmci_torch_has_method(base, need.method))
            return bmci_fail(BMC_ERR_MODEL, "vqa: the head reads %s, which the base bundle lacks (re-export "
                             "it with this release's tools/export/export_bundle.py)", need.method);
    return bmci_guard("vqa head check", [&]() -> bmc_status {
        c10::InferenceMode inference;
        torch::Tensor logits;
        try {
            return run_head(base, head, dummy_inputs(base, shape), 2, shape->answers, &logits);
        } catch (const std::exception &e) {
            // TorchScript raises its own exception types; c10::Error's what() has a backtrace.
            const auto *error = dynamic_cast<const c10::Error *>(&e);
            return bmci_fail(BMC_ERR_MODEL, "vqa: the head does not run on inputs of the sizes its "
                             "vqa_head.json declares (vision width %lld, text width %lld, embed_dim %lld): %s",
                             (long long)shape->vision_width, (long long)shape->text_width,
                             (long long)shape->embed_dim,
                             last_line(error ? error->what_without_backtrace() : e.what()).c_str());
        }
    });
}

extern "C" bmc_status bmci_vqa_head_run(const bmci_torch_model *base, const bmci_vqa_head *head,
                                        const bmci_vqa_shape *shape, const float *pixels,
                                        int64_t image_size, const int64_t *ids, int64_t count,
                                        int64_t length, int64_t pad_id, float *logits)
{
    return bmci_guard("vqa", [&]() -> bmc_status {
        c10::InferenceMode inference;
        HeadInputs inputs;
        bmc_status status =
            base_features(base, shape, pixels, image_size, ids, count, length, pad_id, &inputs);
        torch::Tensor result;
        if (status == BMC_OK)
            status = run_head(base, head, inputs, count, shape->answers, &result);
        if (status != BMC_OK)
            return status;
        result = result.to(c10::kCPU, c10::kFloat).contiguous();
        std::memcpy(logits, result.data_ptr<float>(), sizeof(float) * count * shape->answers);
        return BMC_OK;
    });
}

extern "C" void bmci_vqa_head_free(bmci_vqa_head *head)
{
    try {
        delete head;
    } catch (...) {
        // Nothing to report to; the memory is released regardless.
    }
}
