// The weight of a linear layer as the kernels read it: a non-owning view of
// a float matrix (FloatMatrixView) or of a quantized one in the
// compressed-tensors "pack-quantized" layout (QuantizedMatrixView), so that
// weights memory-mapped from a checkpoint are used in place, without a copy.
// WeightMatrix is either. PackedQuantizedMatrix owns the buffers of a
// QuantizedTensor packed in that layout (tests, in-memory quantization).
//
// Both views describe W [out_features = rows, in_features = cols], row-major:
// the layer computes y = x W^T (+ bias), one output per row of W.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "wquant/core/dtype.h"
#include "wquant/core/tensor.h"
#include "wquant/quant/quantize.h"
#include "wquant/quant/scheme.h"

namespace wquant {

// A float weight [rows, cols], row-major, dtype F32, F16 or BF16. data may
// have any alignment (read with unaligned loads).
struct FloatMatrixView {
  DType dtype = DType::F32;
  int64_t rows = 0, cols = 0;
  const void* data = nullptr;
};

// A quantized weight [rows, cols] with b = bits in {2, 3, 4, 8}.
//
// packed: int32 words [rows, packed_int32_cols(cols, b)] (wquant/quant/pack.h):
//   each row is one dense little-endian bit stream of unsigned codes
//   u = q + 2^(b-1); value c of a row sits in stream bits [c*b, (c+1)*b),
//   and stream bit p is bit p % 32 of word p / 32. The bits after the last
//   value of a row are 0. Any alignment; words are read as little-endian
//   bytes (on a little-endian host that is the int32 tensor as stored).
// scales: scale_dtype (F32, F16, BF16), one per (scale row, group):
//   PerTensor [1]; PerChannel [rows, 1] (one per output row); PerGroup
//   [rows, n_groups()], group g covering columns [g*G, min((g+1)*G, cols)),
//   G = group_size (the last group may be short).
// zero_points: int8, same shape and indexing as scales, in the signed
//   integer domain of q (compressed-tensors stores them packed; the caller
//   unpacks them once at load time); nullptr when symmetric.
// A weight is dequantized as w = (q - zero_point) * scale (zero_point 0 when
// symmetric), exactly as wquant::dequantize does.
struct QuantizedMatrixView {
  int bits = 8;
  int64_t rows = 0, cols = 0;
  const void* packed = nullptr;
  Granularity granularity = Granularity::PerChannel;  // PerChannel: per output row
  int64_t group_size = 0;                              // PerGroup only, > 0
  DType scale_dtype = DType::F32;
  const void* scales = nullptr;
  const int8_t* zero_points = nullptr;

  // Returns the number of int32 words of one packed row.
  int64_t row_words() const;
  // Returns the scale groups per row: ceil(cols / group_size) for PerGroup, else 1.
  int64_t n_groups() const;
  // Returns the columns of one group: group_size for PerGroup, else cols.
  int64_t group_cols() const;
  // Returns the index into scales / zero_points of group g of row r.
  int64_t scale_index(int64_t r, int64_t g) const {
    return (granularity == Granularity::PerTensor ? 0 : r * n_groups()) + g;
  }
  // Returns scale number i as f32 (exact for F16/BF16).
  float scale_at(int64_t i) const;
  // Returns "w4 g128 asym [576, 1536]".
  std::string describe() const;
};

using WeightMatrix = std::variant<FloatMatrixView, QuantizedMatrixView>;

// Returns rows (out_features) of w.
int64_t out_features(const WeightMatrix& w);
// Returns cols (in_features) of w.
int64_t in_features(const WeightMatrix& w);

// Throws Error, prefixed by `where`, if w is inconsistent: unknown dtype or
// bits, negative shape, missing data pointer, group_size not > 0 for PerGroup.
void validate(const WeightMatrix& w, const char* where);

// Returns a view of one layer of a compressed-tensors "pack-quantized"
// checkpoint: weight_packed I32 [out, ceil(in * bits / 32)], weight_scale
// F32/F16/BF16 [1] (per tensor), [out, 1] (per channel, when group_size is
// 0) or [out, ceil(in / group_size)] (per group), zero_points unpacked by the
// caller to int8 with the scale's shape (nullptr when symmetric). in_features
// comes from the layer's weight_shape. The views must outlive the result.
// Throws Error naming `layer` if dtypes or shapes do not match.
QuantizedMatrixView quantized_matrix_view(const std::string& layer,
                                          const TensorView& weight_packed,
                                          const TensorView& weight_scale,
                                          const int8_t* zero_points, int64_t in_features,
                                          int bits, int64_t group_size);

// Returns w's codes repacked at `bits` (> w.bits) words per row, in the same
// layout: the integers q, and so the dequantized weights, are unchanged (a
// b-bit q fits any wider signed range); scales and zero-points still apply
// as they are. Lets a width without a kernel of its own (3 bits) run on a
// wider one's (4 bits) at bits / w.bits the memory instead of f32's 32 / w.bits.
std::vector<int32_t> widen_codes(const QuantizedMatrixView& w, int bits);

// Owns a QuantizedTensor packed in the layout QuantizedMatrixView reads.
class PackedQuantizedMatrix {
 public:
  // Packs t (PerChannel only along axis 0, the compressed-tensors layout) with
  // its scales converted to scale_dtype (exact when t was quantized with that
  // scale_dtype). Throws Error if t is inconsistent or channel_axis is 1.
  explicit PackedQuantizedMatrix(const QuantizedTensor& t, DType scale_dtype = DType::F32);

  // Returns a view of the buffers; valid while this object lives and is not moved.
  QuantizedMatrixView view() const;

 private:
  QuantizedMatrixView meta_;  // shape and scheme; pointers set by view()
  std::vector<int32_t> packed_;
  std::vector<uint8_t> scales_;  // scale_dtype bytes
  std::vector<int8_t> zero_points_;
};

}  // namespace wquant
