// Factory of the llama-family model (src/models/llama.cpp), for the registry.
#pragma once

#include <memory>

#include "wquant/models/causal_lm.h"

namespace wquant {

std::unique_ptr<CausalLM> make_llama(const CheckpointReader& ckpt, int64_t context);

}  // namespace wquant
