// Argument checks shared by attention and attention_ref (attention.h).
#pragma once

#include <cstdint>

#include "wquant/kernels/attention.h"

namespace wquant {

// Throws Error for an invalid shape, n < 1, n > n_keys or invalid limits.
void check_attention_args(const AttentionShape& shape, int64_t n, int64_t n_keys, bool causal,
                          const AttentionLimits& limits);

// The first key query t of n (over n_keys) sees: 0, or the sliding window's start.
inline int64_t first_visible_key(int64_t t, int64_t n, int64_t n_keys, const AttentionLimits& limits) {
  const int64_t last = n_keys - n + t;
  return limits.window > 0 && last - limits.window + 1 > 0 ? last - limits.window + 1 : 0;
}

}  // namespace wquant
