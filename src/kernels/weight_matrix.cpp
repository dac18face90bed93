#include "wquant/kernels/weight_matrix.h"

#include <cstring>

#include "wquant/core/error.h"
#include "wquant/core/half.h"
#include "wquant/quant/pack.h"

namespace wquant {
namespace {

bool is_scale_dtype(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16; }

// Returns the number of scales (and zero-points) of q.
int64_t scale_count(const QuantizedMatrixView& q) {
  return q.granularity == Granularity::PerTensor ? 1 : q.rows * q.n_groups();
}

void validate_float(const FloatMatrixView& f, const char* where) {
  if (!is_scale_dtype(f.dtype)) {
    fail(where, ": float weight dtype ", dtype_name(f.dtype), " is not F32, F16 or BF16");
  }
  if (f.rows < 0 || f.cols < 0) fail(where, ": negative weight shape [", f.rows, ", ", f.cols, "]");
  if (f.rows * f.cols > 0 && !f.data) fail(where, ": float weight [", f.rows, ", ", f.cols, "] has no data");
}

void validate_quantized(const QuantizedMatrixView& q, const char* where) {
  if (q.bits != 2 && q.bits != 3 && q.bits != 4 && q.bits != 8) {
    fail(where, ": quantized weight bits = ", q.bits, ", expected 2, 3, 4 or 8");
  }
  if (q.rows < 0 || q.cols < 0) fail(where, ": negative weight shape [", q.rows, ", ", q.cols, "]");
  if (q.granularity == Granularity::PerGroup && q.group_size <= 0) {
    fail(where, ": per-group weight [", q.rows, ", ", q.cols, "] needs group_size > 0, got ",
         q.group_size);
  }
  if (q.granularity != Granularity::PerTensor && q.granularity != Granularity::PerChannel &&
      q.granularity != Granularity::PerGroup) {
    fail(where, ": unknown granularity ", int(q.granularity));
  }
  if (!is_scale_dtype(q.scale_dtype)) {
    fail(where, ": ", q.describe(), ": scale dtype ", dtype_name(q.scale_dtype),
         " is not F32, F16 or BF16");
  }
  if (q.rows * q.cols > 0 && (!q.packed || !q.scales)) {
    fail(where, ": ", q.describe(), ": packed words or scales missing");
  }
}

}  // namespace

int64_t QuantizedMatrixView::row_words() const { return packed_int32_cols(cols, bits); }

int64_t QuantizedMatrixView::n_groups() const {
  if (granularity != Granularity::PerGroup || cols == 0) return 1;
  return (cols + group_size - 1) / group_size;
}

int64_t QuantizedMatrixView::group_cols() const {
  return granularity == Granularity::PerGroup ? group_size : cols;
}

float QuantizedMatrixView::scale_at(int64_t i) const {
  const char* p = static_cast<const char*>(scales);
  if (scale_dtype == DType::F32) {
    float v;
    std::memcpy(&v, p + i * 4, 4);
    return v;
  }
  uint16_t h;
  std::memcpy(&h, p + i * 2, 2);
  return scale_dtype == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
}

std::string QuantizedMatrixView::describe() const {
  const std::string g = granularity == Granularity::PerTensor    ? std::string("per-tensor")
                        : granularity == Granularity::PerChannel ? std::string("per-channel")
                                                                 : cat("g", group_size);
  return cat("w", bits, " ", g, zero_points ? " asym" : " sym", " [", rows, ", ", cols, "]");
}

int64_t out_features(const WeightMatrix& w) {
  return std::visit([](const auto& m) { return m.rows; }, w);
}

int64_t in_features(const WeightMatrix& w) {
  return std::visit([](const auto& m) { return m.cols; }, w);
}

void validate(const WeightMatrix& w, const char* where) {
  if (const auto* f = std::get_if<FloatMatrixView>(&w)) {
    validate_float(*f, where);
  } else {
    validate_quantized(std::get<QuantizedMatrixView>(w), where);
  }
}

QuantizedMatrixView quantized_matrix_view(const std::string& layer,
                                          const TensorView& weight_packed,
                                          const TensorView& weight_scale,
                                          const int8_t* zero_points, int64_t in_features,
                                          int bits, int64_t group_size) {
  QuantizedMatrixView q;
  q.bits = bits;
  q.cols = in_features;
  q.packed = weight_packed.data;
  q.scales = weight_scale.data;
  q.scale_dtype = weight_scale.dtype;
  q.zero_points = zero_points;
  const std::string where = layer + ".weight_packed";
  if (weight_packed.dtype != DType::I32 || weight_packed.shape.size() != 2) {
    fail(where, ": expected a 2-D I32 tensor, got ", dtype_name(weight_packed.dtype), " ",
         shape_str(weight_packed.shape));
  }
  q.rows = weight_packed.shape[0];
  q.granularity = group_size > 0 ? Granularity::PerGroup : Granularity::PerChannel;
  q.group_size = group_size > 0 ? group_size : 0;
  validate_quantized(q, where.c_str());
  if (weight_packed.shape[1] != q.row_words()) {
    fail(where, ": ", shape_str(weight_packed.shape), " does not hold ", in_features,
         " columns of ", bits, " bits: expected [", q.rows, ", ", q.row_words(), "]");
  }
  // [1] (or [1, 1]) is per tensor unless a per-channel layer has one row.
  const Shape& ss = weight_scale.shape;
  if (weight_scale.numel() == 1 && group_size <= 0 && q.rows != 1) {
    q.granularity = Granularity::PerTensor;
    return q;
  }
  const Shape expected = {q.rows, q.n_groups()};
  if (ss != expected && !(weight_scale.numel() == 1 && q.rows * q.n_groups() == 1)) {
    fail(layer, ".weight_scale: ", shape_str(ss), " does not match ", q.describe(),
         ": expected ", shape_str(expected), group_size > 0 ? "" : " or [1]");
  }
  return q;
}

PackedQuantizedMatrix::PackedQuantizedMatrix(const QuantizedTensor& t, DType scale_dtype) {
  t.scheme.validate();
  if (t.scheme.granularity == Granularity::PerChannel && t.scheme.channel_axis != 0) {
    fail("PackedQuantizedMatrix: ", t.scheme.describe(),
         ": per-channel scales along the input axis have no pack-quantized layout");
  }
  if (int64_t(t.q.size()) != t.rows * t.cols ||
      t.zero_points.size() != (t.scheme.symmetric ? 0 : t.scales.size())) {
    fail("PackedQuantizedMatrix: ", t.scheme.describe(), " [", t.rows, ", ", t.cols,
         "]: inconsistent integer, scale or zero-point counts");
  }
  meta_.bits = t.scheme.bits;
  meta_.rows = t.rows;
  meta_.cols = t.cols;
  meta_.granularity = t.scheme.granularity;
  meta_.group_size = t.scheme.group_size;
  meta_.scale_dtype = scale_dtype;
  if (int64_t(t.scales.size()) != scale_count(meta_)) {
    fail("PackedQuantizedMatrix: ", meta_.describe(), ": ", t.scales.size(),
         " scales, expected ", scale_count(meta_));
  }
  packed_ = pack_int32_rows(t.q.data(), t.rows, t.cols, t.scheme.bits);
  scales_.resize(t.scales.size() * dtype_size(scale_dtype));
  from_f32(t.scales.data(), t.scales.size(), scale_dtype, scales_.data());
  zero_points_ = t.zero_points;
  validate_quantized(view(), "PackedQuantizedMatrix");
}

QuantizedMatrixView PackedQuantizedMatrix::view() const {
  QuantizedMatrixView v = meta_;
  v.packed = packed_.data();
  v.scales = scales_.data();
  v.zero_points = zero_points_.empty() ? nullptr : zero_points_.data();
  return v;
}

}  // namespace wquant

namespace wquant {

std::vector<int32_t> widen_codes(const QuantizedMatrixView& w, int bits) {
  validate(w, "widen_codes");
  if (bits <= w.bits || bits > 8) fail("widen_codes: from ", w.bits, " to ", bits, " bits");
  // Row by row: a whole layer of int8 codes would be 8 / w.bits its packed size.
  const int64_t in_words = w.row_words(), out_words = packed_int32_cols(w.cols, bits);
  std::vector<int32_t> out(size_t(w.rows * out_words));
  std::vector<int32_t> row(static_cast<size_t>(in_words));
  std::vector<int8_t> q(static_cast<size_t>(w.cols));
  const auto* bytes = static_cast<const uint8_t*>(w.packed);
  for (int64_t r = 0; r < w.rows; ++r) {
    std::memcpy(row.data(), bytes + r * in_words * 4, size_t(in_words) * 4);  // any alignment
    unpack_int32_rows(row.data(), 1, w.cols, w.bits, q.data());
    const std::vector<int32_t> packed = pack_int32_rows(q.data(), 1, w.cols, bits);
    std::copy(packed.begin(), packed.end(), out.begin() + r * out_words);
  }
  return out;
}

}  // namespace wquant
