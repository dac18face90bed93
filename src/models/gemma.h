// Factory of the Gemma 1 / 2 / 3 text models (src/models/gemma.cpp), for the registry.
#pragma once

#include <memory>

#include "wquant/models/causal_lm.h"

namespace wquant {

std::unique_ptr<CausalLM> make_gemma(const CheckpointReader& ckpt, int64_t context);

}  // namespace wquant
