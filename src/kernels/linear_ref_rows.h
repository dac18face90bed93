// Internal to the kernels: the scalar reference on a range of output rows,
// shared by matmul_ref and by the SIMD entry points' fallback path.
#pragma once

#include <cstdint>
#include <vector>

#include "wquant/core/dtype.h"
#include "wquant/kernels/weight_matrix.h"

namespace wquant {

// Computes y[t * out + r] for rows r in [row_begin, row_end) and all tokens t,
// from x_f32 [n_tokens, in] in f32 (see matmul_ref in linear.h for the
// arithmetic). w must be valid.
void reference_rows(const WeightMatrix& w, const float* x_f32, int64_t n_tokens,
                    const float* bias, float* y, int64_t row_begin, int64_t row_end);

// Returns x [n_tokens, in] of dtype x_dtype as f32 (exact). Throws Error,
// prefixed by `where`, if x_dtype is not F32, F16 or BF16 or n_tokens < 0.
std::vector<float> activations_to_f32(const void* x, DType x_dtype, int64_t n_tokens,
                                      int64_t in, const char* where);

}  // namespace wquant
