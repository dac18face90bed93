// Error-minimising quantization grids ("mse"): per scale slot (group, channel
// or tensor) the clipping range, scale and zero-point that minimise the
// importance-weighted squared error
//     E = sum_c imp[c] (w_c - (q_c - zp) * scale)^2
// instead of round-to-nearest's min/max range.
//
// Integer range: the whole signed range [-2^(b-1), 2^(b-1) - 1] for both
// symmetric and asymmetric schemes (the compressed-tensors range). A
// symmetric grid may map its extreme value onto -2^(b-1), as llama.cpp's
// Q4_0 does, so its scale is negative when that extreme is positive
// (dequantization (q - zp) * scale is unchanged; the zero-point stays 0).
//
// Candidates per slot, each scale rounded to scale_dtype before the integers
// are computed (so a reader of the stored scales sees exactly this grid):
//   asymmetric: range [p lo, p hi] (lo = min(w, 0), hi = max(w, 0)),
//               scale = (p hi - p lo) / (2^b - 1), zp = round(qmin - p lo / scale)
//   symmetric:  scale = p max|w| / (2^(b-1) - 1)           (the RTN range)
//               scale = p m / -2^(b-1), m the value of largest magnitude
//   p in kShrinkSteps (1.00, 0.96, ..., 0.60).
// The best candidate is then refined by weighted least squares of w on its
// integers (scale, and offset when asymmetric), rounded back to the grid,
// kept only if it lowers E. Ties keep the earlier candidate, so p = 1 (the
// RTN range) wins when nothing is better: E never exceeds that of the
// same-range round-to-nearest grid.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "wquant/core/dtype.h"
#include "wquant/quant/quantize.h"

namespace wquant {

// Returns w [rows, cols] quantized on the error-minimising grid of each
// scale slot, weighting column c by importance[c] >= 0 (nullptr: all 1; a
// slot whose importances are all 0 is weighted uniformly). Per-channel
// granularity must be along axis 0. Throws Error like quantize() does.
QuantizedTensor quantize_mse(const float* w, int64_t rows, int64_t cols, const QuantScheme& scheme,
                             DType scale_dtype = DType::F32, const float* importance = nullptr);

// The same for rows [row_begin, row_end) only, into `out` as returned by
// mse_output_for(): callers split rows over threads (the result does not
// depend on the split). Per-tensor granularity needs the whole range.
QuantizedTensor mse_output_for(int64_t rows, int64_t cols, const QuantScheme& scheme);
void quantize_mse_rows(const float* w, int64_t rows, int64_t cols, const QuantScheme& scheme,
                       DType scale_dtype, const float* importance, int64_t row_begin,
                       int64_t row_end, QuantizedTensor& out);

// Returns q = clamp(round_half_even(v / scale + zp), -2^(b-1), 2^(b-1) - 1),
// in float32 in this order (the rounding rule of quantize()).
// The value is clamped to [lo - 1, hi + 1] before rounding, which changes
// nothing after the final clamp and keeps |t| < 2^22, where adding and
// subtracting 1.5 * 2^23 rounds to an integer, half to even, in the default
// rounding mode: nearbyint without a library call, so loops vectorise.
inline int8_t quantize_value(float v, float scale, int zp, int bits) {
  const float lo = float(-(1 << (bits - 1))), hi = float((1 << (bits - 1)) - 1);
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
  float t = std::min(std::max(v / scale + float(zp), lo - 1.0f), hi + 1.0f);
  t = (t + kRound) - kRound;
  return int8_t(std::min(std::max(t, lo), hi));
}

}  // namespace wquant
