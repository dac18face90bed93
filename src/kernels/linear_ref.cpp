// Scalar reference of the linear kernels (linear.h): obviously right, slow.

#include <cstring>

#include "linear_ref_rows.h"
#include "wquant/core/error.h"
#include "wquant/core/tensor.h"
#include "wquant/kernels/linear.h"
#include "wquant/quant/pack.h"

namespace wquant {
namespace {

// Writes row r of w dequantized to f32 into w_row [cols]: float(q - zp) * scale,
// the formula of wquant::dequantize and QuantizedLinear::forward.
void dequantize_row(const QuantizedMatrixView& w, int64_t r, std::vector<int32_t>& words,
                    std::vector<int8_t>& q, float* w_row) {
  // Copy the packed row to int32 storage first: the view may be unaligned.
  const int64_t n_words = w.row_words();
  words.resize(size_t(n_words));
  std::memcpy(words.data(), static_cast<const char*>(w.packed) + r * n_words * 4,
              size_t(n_words) * 4);
  q.resize(size_t(w.cols));
  unpack_int32_rows(words.data(), 1, w.cols, w.bits, q.data());
  const int64_t group = w.group_cols();
  for (int64_t c = 0; c < w.cols; ++c) {
    const int64_t s = w.scale_index(r, c / group);
    const int zp = w.zero_points ? w.zero_points[s] : 0;
    w_row[c] = float(q[size_t(c)] - zp) * w.scale_at(s);
  }
}

}  // namespace

void weight_row_f32(const WeightMatrix& w, int64_t r, float* out) {
  const int64_t in = in_features(w);
  if (const auto* f = std::get_if<FloatMatrixView>(&w)) {
    const char* row = static_cast<const char*>(f->data) + r * in * int64_t(dtype_size(f->dtype));
    const std::vector<float> v = to_f32(TensorView{f->dtype, {in}, row});
    std::memcpy(out, v.data(), v.size() * sizeof(float));
    return;
  }
  std::vector<int32_t> words;
  std::vector<int8_t> q;
  dequantize_row(std::get<QuantizedMatrixView>(w), r, words, q, out);
}

std::vector<float> activations_to_f32(const void* x, DType x_dtype, int64_t n_tokens,
                                      int64_t in, const char* where) {
  if (x_dtype != DType::F32 && x_dtype != DType::F16 && x_dtype != DType::BF16) {
    fail(where, ": activation dtype ", dtype_name(x_dtype), " is not F32, F16 or BF16");
  }
  if (n_tokens < 0) fail(where, ": negative token count ", n_tokens);
  return to_f32(TensorView{x_dtype, {n_tokens, in}, x});
}

void reference_rows(const WeightMatrix& w, const float* x_f32, int64_t n_tokens,
                    const float* bias, float* y, int64_t row_begin, int64_t row_end) {
  const int64_t out = out_features(w), in = in_features(w);
  std::vector<float> w_row(static_cast<size_t>(in));
  std::vector<int32_t> words;
  std::vector<int8_t> q;
  for (int64_t r = row_begin; r < row_end; ++r) {
    if (std::holds_alternative<FloatMatrixView>(w))
      weight_row_f32(w, r, w_row.data());
    else
      dequantize_row(std::get<QuantizedMatrixView>(w), r, words, q, w_row.data());
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float* xt = x_f32 + t * in;
      double acc = bias ? double(bias[r]) : 0.0;
      for (int64_t c = 0; c < in; ++c) acc += double(w_row[size_t(c)]) * double(xt[c]);
      y[t * out + r] = float(acc);
    }
  }
}

void matmul_ref(const WeightMatrix& w, const void* x, DType x_dtype, int64_t n_tokens,
                const float* bias, float* y) {
  validate(w, "matmul_ref");
  const std::vector<float> xf =
      activations_to_f32(x, x_dtype, n_tokens, in_features(w), "matmul_ref");
  reference_rows(w, xf.data(), n_tokens, bias, y, 0, out_features(w));
}

void matvec_ref(const WeightMatrix& w, const void* x, DType x_dtype, const float* bias, float* y) {
  matmul_ref(w, x, x_dtype, 1, bias, y);
}

}  // namespace wquant
