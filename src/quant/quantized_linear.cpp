#include "wquant/quant/quantized_linear.h"

#include "check_quantized.h"
#include "wquant/core/error.h"
#include "wquant/core/tensor.h"
#include "wquant/quant/pack.h"

namespace wquant {

QuantizedLinear::QuantizedLinear(const QuantizedTensor& weight, std::vector<float> bias)
    : scheme_(weight.scheme), out_(weight.rows), in_(weight.cols), bias_(std::move(bias)) {
  check_quantized(weight, "QuantizedLinear");
  if (!bias_.empty() && int64_t(bias_.size()) != out_) {
    fail("QuantizedLinear ", scheme_.describe(), ": bias has ", bias_.size(),
         " values, expected out_features = ", out_);
  }
  packed_ = pack_int32_rows(weight.q.data(), out_, in_, scheme_.bits);
  packed_row_words_ = packed_int32_cols(in_, scheme_.bits);
  meta_.scheme = weight.scheme;
  meta_.rows = weight.rows;
  meta_.cols = weight.cols;
  meta_.scales = weight.scales;
  meta_.zero_points = weight.zero_points;
  meta_.scale_rows = weight.scale_rows;
  meta_.scale_cols = weight.scale_cols;
}

size_t QuantizedLinear::storage_bytes() const {
  return packed_.size() * sizeof(int32_t) + meta_.scales.size() * sizeof(float) +
         meta_.zero_points.size() * sizeof(int8_t) + bias_.size() * sizeof(float);
}

void QuantizedLinear::forward(const void* x, DType act, int64_t batch, void* y) const {
  if (act != DType::F32 && act != DType::F16 && act != DType::BF16) {
    fail("QuantizedLinear ", scheme_.describe(), " [", out_, ", ", in_, "]: activation dtype ",
         dtype_name(act), " is not F32, F16 or BF16");
  }
  if (batch < 0) fail("QuantizedLinear: negative batch ", batch);
  // Activations are widened to f32 once (exact for F16/BF16): [batch, in].
  const std::vector<float> xf = to_f32(TensorView{act, {batch, in_}, x});
  std::vector<float> yf(size_t(batch * out_));

  // One output row of W at a time: unpack its integers, dequantize them the
  // same way dequantize() does ((q - zp) * scale in f32), then dot it with
  // every activation row. The full dequantized matrix never exists.
  std::vector<int8_t> q_row(static_cast<size_t>(in_));
  std::vector<float> w_row(static_cast<size_t>(in_));
  for (int64_t o = 0; o < out_; ++o) {
    unpack_int32_rows(packed_.data() + o * packed_row_words_, 1, in_, scheme_.bits, q_row.data());
    for (int64_t c = 0; c < in_; ++c) {
      const int64_t s = meta_.scale_index(o, c);
      const int zp = meta_.zero_points.empty() ? 0 : meta_.zero_points[s];
      w_row[c] = float(q_row[c] - zp) * meta_.scales[s];
    }
    const float b = bias_.empty() ? 0.0f : bias_[o];
    for (int64_t n = 0; n < batch; ++n) {
      const float* xr = xf.data() + n * in_;
      float acc = 0.0f;
      for (int64_t c = 0; c < in_; ++c) acc += xr[c] * w_row[c];
      yf[n * out_ + o] = acc + b;
    }
  }
  from_f32(yf.data(), yf.size(), act, y);
}

}  // namespace wquant
