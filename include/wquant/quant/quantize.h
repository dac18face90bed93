// Quantization and dequantization of 2-D float weights, scalar reference.
#pragma once

#include <cstdint>
#include <vector>

#include "wquant/core/dtype.h"
#include "wquant/quant/metrics.h"
#include "wquant/quant/scheme.h"

namespace wquant {

// A quantized 2-D tensor, integers unpacked (one int8 per value).
// scales / zero_points have shape [scale_rows, scale_cols]:
//   PerTensor [1, 1]; PerChannel axis 0 [rows, 1], axis 1 [1, cols];
//   PerGroup [rows, ceil(cols / group_size)] (the last group may be short).
struct QuantizedTensor {
  QuantScheme scheme;
  int64_t rows = 0, cols = 0;
  std::vector<int8_t> q;             // [rows, cols] row-major
  std::vector<float> scales;         // [scale_rows, scale_cols]
  std::vector<int8_t> zero_points;   // same shape as scales; empty if symmetric
  int64_t scale_rows = 0, scale_cols = 0;

  // Returns the scale index for element (r, c).
  int64_t scale_index(int64_t r, int64_t c) const;
};

// Returns w [rows, cols] quantized with `scheme`. Each scale is rounded to
// `scale_dtype` (F32/F16/BF16) before the integers are computed, so a reader
// that stores scales in that dtype dequantizes to exactly dequantize(result).
// A group whose range is zero gets scale 1 (its values are all 0 then); so
// does one whose scale underflows to 0 in scale_dtype. Throws Error if the
// scheme is invalid, a weight is not finite, or a scale overflows scale_dtype.
QuantizedTensor quantize(const float* w, int64_t rows, int64_t cols,
                         const QuantScheme& scheme, DType scale_dtype = DType::F32);

// Returns the dequantized [rows, cols] values (q - zero_point) * scale, in f32.
// Throws Error if t's sizes do not match its shape and scheme.
std::vector<float> dequantize(const QuantizedTensor& t);

// Returns the error of dequantize(t) against the original w [rows, cols],
// dequantizing one row at a time (no full-size copy). With `histogram`, also
// fills it with the signed errors w - dequantize(t) in `bins` bins over
// [-max_abs, max_abs].
ErrorStats quantization_error(const QuantizedTensor& t, const float* w,
                              ErrorHistogram* histogram = nullptr,
                              size_t bins = kErrorHistogramBins);

}  // namespace wquant
