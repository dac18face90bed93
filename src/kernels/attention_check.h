// Argument checks shared by attention and attention_ref (attention.h).
#pragma once

#include <cstdint>

#include "wquant/kernels/attention.h"

namespace wquant {

// Throws Error for an invalid shape, n < 1 or n > n_keys.
void check_attention_args(const AttentionShape& shape, int64_t n, int64_t n_keys);

}  // namespace wquant
