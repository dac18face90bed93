#include "wquant/models/ops.h"

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

void rope(float* x, int64_t heads, int64_t head_dim, int64_t pos, float theta) {
  const int64_t half = head_dim / 2;
  std::vector<float> cos_v(static_cast<size_t>(half)), sin_v(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    // transformers: inv_freq = 1 / base ** (arange(0, dim, 2).float() / dim), in f32.
    const float inv_freq = 1.0f / std::pow(theta, float(2 * i) / float(head_dim));
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

void attend(const float* q, const float* keys, const float* values, int64_t n_keys,
            int64_t stride, int64_t head_dim, float scale, std::vector<float>& scores, float* out) {
  scores.resize(static_cast<size_t>(n_keys));
  for (int64_t j = 0; j < n_keys; ++j) {
    const float* k = keys + j * stride;
    float s = 0;
    for (int64_t d = 0; d < head_dim; ++d) s += q[d] * k[d];
    scores[size_t(j)] = s * scale;
  }
  softmax(scores.data(), n_keys);
  for (int64_t d = 0; d < head_dim; ++d) out[d] = 0;
  for (int64_t j = 0; j < n_keys; ++j) {
    const float* v = values + j * stride;
    for (int64_t d = 0; d < head_dim; ++d) out[d] += scores[size_t(j)] * v[d];
  }
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace wquant::ops
