// Scaled dot-product attention of several heads over a key / value cache:
// for query t and head h,
//   out[t, h] = sum_j softmax_j(q[t, h] . k[j, h'] * scale) v[j, h'],
// h' = h / (heads / kv_heads) (grouped-query attention: heads share a
// key / value head; kv_heads == heads is plain multi-head attention).
//
// Layouts, all f32 row-major, heads side by side within a row:
//   q, out  [n, heads * head_dim]
//   keys, values  [n_keys, kv_heads * head_dim]
// Causal: the n queries are the last n of the n_keys positions, and query t
// sees keys 0 .. n_keys - n + t. Otherwise every query sees all n_keys keys.
// AttentionLimits adds what Gemma 2 / 3 use: a sliding window (query at
// position p sees keys p - window + 1 .. p only, as transformers' sliding
// mask q - k < window) and soft-capped scores (cap * tanh(score / cap)).
//
// attention_ref is the scalar reference (scores, softmax normalised, then
// the weighted sum, accumulated in f32 in key order); attention is the
// Highway SIMD version (vector dot products, vector exp, unnormalised
// accumulation scaled once at the end), heads and queries split over the
// pool. They differ by rounding only.
#pragma once

#include <cstdint>

#include "wquant/kernels/thread_pool.h"

namespace wquant {

struct AttentionShape {
  int64_t heads = 0, kv_heads = 0, head_dim = 0;
};

struct AttentionLimits {
  int64_t window = 0;  // > 0, causal only: the last `window` keys, the query's own included
  float softcap = 0;   // > 0: each scaled score s becomes softcap * tanh(s / softcap)
};

// Throws Error if the shape is invalid (non-positive sizes, heads not a
// multiple of kv_heads), n < 1, n > n_keys, or the limits are negative or
// not finite (a window without causal).
void attention(const AttentionShape& shape, const float* q, int64_t n, const float* keys,
               const float* values, int64_t n_keys, bool causal, float scale, float* out,
               ThreadPool& pool, const AttentionLimits& limits = {});

void attention_ref(const AttentionShape& shape, const float* q, int64_t n, const float* keys,
                   const float* values, int64_t n_keys, bool causal, float scale, float* out,
                   const AttentionLimits& limits = {});

}  // namespace wquant
