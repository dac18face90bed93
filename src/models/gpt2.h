// Factory of the gpt2 model (src/models/gpt2.cpp), for the registry.
#pragma once

#include <memory>

#include "wquant/models/causal_lm.h"

namespace wquant {

std::unique_ptr<CausalLM> make_gpt2(const CheckpointReader& ckpt, int64_t context);

}  // namespace wquant
