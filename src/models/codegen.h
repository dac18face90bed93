// Factory of the codegen model (src/models/codegen.cpp), for the registry.
#pragma once

#include <memory>

#include "wquant/models/causal_lm.h"

namespace wquant {

std::unique_ptr<CausalLM> make_codegen(const CheckpointReader& ckpt, int64_t context);

}  // namespace wquant
