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
// Quantize:     q = clamp(round_half_even(w / scale + zero_point), lo, hi),
//               float32 arithmetic in this order, as compressed-tensors does
// Dequantize:   w' = (q - zero_point) * scale
// The scale is rounded to the dtype it is stored in before the zero-point
// and the integers are computed. round_half_even is torch.round / numpy.rint.
//
// Differences from compressed-tensors 0.20 (calculate_qparams), whose
// checkpoints dequantize the same way, so the files stay compatible: its
// symmetric scale is max|w| / ((2^b - 1) / 2) with q in [-2^(b-1),
// 2^(b-1) - 1]; it computes the zero-point before rounding the scale to
// scale_dtype; a zero scale becomes eps, not 1; and it refuses
// cols % group_size != 0, where ours has a short last group.
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
  // Throws Error if bits/granularity/group_size are not a valid combination
  // (group_size must be > 0 for PerGroup and 0 otherwise).
  void validate() const;
};

}  // namespace wquant
