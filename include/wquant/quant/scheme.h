// QuantScheme: how a 2-D weight [rows = out_features, cols = in_features] is
// mapped to integers.
//
// Integer ranges (b = bits):
//   symmetric:  q in [-qmax, qmax], qmax = 2^(b-1) - 1, zero-point 0,
//               scale = max|w| / qmax                    (8 bit: [-127, 127])
//   asymmetric: q in [-2^(b-1), 2^(b-1) - 1] (signed, as compressed-tensors),
//               the range [min(w,0), max(w,0)] is mapped onto it:
//               scale = (max - min) / (2^b - 1),
//               zero_point = clamp(round(qmin - min / scale), qmin, qmax)
// Quantize:     q = clamp(round_half_even(w / scale) + zero_point, lo, hi)
// Dequantize:   w' = (q - zero_point) * scale
#pragma once

#include <cstdint>
#include <string>

namespace wquant {

enum class Granularity {
  PerTensor,   // one scale for the whole tensor
  PerChannel,  // one scale per slice along channel_axis (0: per output row)
  PerGroup,    // one scale per group_size consecutive columns of each row
};

struct QuantScheme {
  int bits = 8;  // 2, 3, 4 or 8
  Granularity granularity = Granularity::PerChannel;
  int channel_axis = 0;     // PerChannel only: 0 = rows (output channels), 1 = columns
  int64_t group_size = 0;   // PerGroup only: columns per group, > 0
  bool symmetric = true;

  // Returns the smallest integer value used by this scheme.
  int qmin() const { return symmetric ? -qmax() : -(1 << (bits - 1)); }
  // Returns the largest integer value used by this scheme.
  int qmax() const { return (1 << (bits - 1)) - 1; }
  // Returns e.g. "w4 g128 asym", "w8 per-channel sym".
  std::string describe() const;
  // Throws Error if bits/granularity/group_size are not a valid combination.
  void validate() const;
};

}  // namespace wquant
