// Factory of the opt model (src/models/opt.cpp), for the registry.
#pragma once

#include <memory>

#include "wquant/models/causal_lm.h"

namespace wquant {

std::unique_ptr<CausalLM> make_opt(const CheckpointReader& ckpt, int64_t context);

}  // namespace wquant
