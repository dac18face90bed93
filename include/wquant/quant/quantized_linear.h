// QuantizedLinear: a linear layer y = x W^T + b whose weight W [out, in] is
// stored quantized (packed integers, scales, optional zero-points).
//
// forward() here is the scalar reference that defines correctness; fast SIMD
// and CUDA kernels (a later layer, `kernels`) are tested against it.
#pragma once

#include <cstdint>
#include <vector>

#include "wquant/core/dtype.h"
#include "wquant/quant/quantize.h"

namespace wquant {

class QuantizedLinear {
 public:
  // Packs a copy of the quantized weight; bias is empty or [out_features].
  QuantizedLinear(const QuantizedTensor& weight, std::vector<float> bias = {});

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  const QuantScheme& scheme() const { return scheme_; }
  // Returns the bytes the layer occupies: packed weight, scales, zero-points, bias.
  size_t storage_bytes() const;

  // Computes y [batch, out] = x [batch, in] W^T + b, with x and y in `act`
  // (F32, F16 or BF16). Accumulates in f32; the result is rounded to `act`.
  void forward(const void* x, DType act, int64_t batch, void* y) const;

 private:
  QuantScheme scheme_;
  int64_t out_ = 0, in_ = 0;
  std::vector<int32_t> packed_;     // pack_int32_rows layout [out, packed_int32_cols(in)]
  int64_t packed_row_words_ = 0;
  QuantizedTensor meta_;            // scales and zero-points (q left empty)
  std::vector<float> bias_;
};

}  // namespace wquant
