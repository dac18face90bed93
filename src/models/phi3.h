// Factory of the Phi-3 model (src/models/phi3.cpp), for the registry.
#pragma once

#include <memory>

#include "wquant/models/causal_lm.h"

namespace wquant {

std::unique_ptr<CausalLM> make_phi3(const CheckpointReader& ckpt, int64_t context);

}  // namespace wquant
