// SPDX-License-Identifier: MIT
// The CPU engine and small helpers shared by the shim's oneDNN operators.
#include "shim/onednn.h"

#ifdef BMC_HAVE_ONEDNN

dnnl::engine &bmci_onednn_engine()
{
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

dnnl::memory::data_type bmci_onednn_type(c10::ScalarType type)
{
    return type == c10::kBFloat16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
}

dnnl::primitive_attr bmci_onednn_user_scratchpad()
{
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

void bmci_onednn_execute(const dnnl::primitive &primitive, const dnnl::primitive_desc_base &pd,
                         std::unordered_map<int, dnnl::memory> args)
{
    dnnl::memory::desc scratch_desc = pd.scratchpad_desc();
    at::Tensor scratch = at::empty({(int64_t)scratch_desc.get_size()}, at::kByte);
    args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(scratch_desc, bmci_onednn_engine(), scratch.data_ptr()));
    dnnl::stream stream(bmci_onednn_engine());
    primitive.execute(stream, args);
    stream.wait();
}

#endif
