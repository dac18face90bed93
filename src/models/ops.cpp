#include "wquant/models/ops.h"

#include "wquant/core/error.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace wquant::ops {

void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i]) * x[i];
  const float inv = 1.0f / std::sqrt(float(sum / double(n)) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = weight[i] * (x[i] * inv);
}

void rope(float* x, int64_t heads, int64_t head_dim, int64_t pos, float theta, int64_t rotary_dim) {
  const int64_t dim = rotary_dim > 0 ? rotary_dim : head_dim, half = dim / 2;
  std::vector<float> cos_v(static_cast<size_t>(half)), sin_v(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    // transformers: inv_freq = 1 / base ** (arange(0, dim, 2).float() / dim), in f32.
    const float inv_freq = 1.0f / std::pow(theta, float(2 * i) / float(dim));
    const float angle = float(pos) * inv_freq;
    cos_v[size_t(i)] = std::cos(angle);
    sin_v[size_t(i)] = std::sin(angle);
  }
  for (int64_t h = 0; h < heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const float a = v[i], b = v[i + half];
      v[i] = a * cos_v[size_t(i)] - b * sin_v[size_t(i)];
      v[i + half] = b * cos_v[size_t(i)] + a * sin_v[size_t(i)];
    }
  }
}

void layer_norm(const float* x, const float* weight, const float* bias, int64_t n, float eps,
                float* out) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const float mean = float(sum / double(n));
  double var = 0;
  for (int64_t i = 0; i < n; ++i) var += double(x[i] - mean) * double(x[i] - mean);
  const float inv = 1.0f / std::sqrt(float(var / double(n)) + eps);
  for (int64_t i = 0; i < n; ++i) {
    const float y = (x[i] - mean) * inv;
    out[i] = (weight ? y * weight[i] : y) + (bias ? bias[i] : 0.0f);
  }
}

void rope_interleaved(float* x, int64_t heads, int64_t head_dim, int64_t rotary_dim, int64_t pos) {
  for (int64_t i = 0; i < rotary_dim / 2; ++i) {
    // transformers (create_sinusoidal_positions): inv_freq = 1 / 10000 **
    // (arange(0, dim, 2) / dim) in f32, angle = float(pos) * inv_freq.
    const float inv_freq = 1.0f / std::pow(10000.0f, float(2 * i) / float(rotary_dim));
    const float angle = float(pos) * inv_freq;
    const float c = std::cos(angle), s = std::sin(angle);
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + h * head_dim + 2 * i;
      const float a = v[0], b = v[1];
      v[0] = a * c - b * s;
      v[1] = b * c + a * s;
    }
  }
}

void softmax(float* x, int64_t n) {
  const float m = *std::max_element(x, x + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

float gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * float(M_SQRT1_2))); }

float gelu_tanh(float x) {
  // transformers NewGELUActivation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
  const float k = 0.7978845608028654f;  // sqrt(2 / pi)
  return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

Activation activation_from_name(const std::string& name, const std::string& where) {
  if (name == "gelu") return Activation::Gelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::GeluTanh;
  if (name == "relu") return Activation::Relu;
  if (name == "silu" || name == "swish") return Activation::Silu;
  fail(where, ": activation '", name,
       "' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu, silu)");
}

void activate(Activation act, float* x, int64_t n) {
  switch (act) {
    case Activation::Gelu:
      for (int64_t i = 0; i < n; ++i) x[i] = gelu(x[i]);
      break;
    case Activation::GeluTanh:
      for (int64_t i = 0; i < n; ++i) x[i] = gelu_tanh(x[i]);
      break;
    case Activation::Relu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : 0.0f;
      break;
    case Activation::Silu:
      for (int64_t i = 0; i < n; ++i) x[i] = silu(x[i]);
      break;
  }
}

}  // namespace wquant::ops
