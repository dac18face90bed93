// The scalar reference of attention (attention.h) and the argument checks
// both versions share.
#include <algorithm>
#include <cmath>
#include <vector>

#include "attention_check.h"
#include "wquant/core/error.h"
#include "wquant/kernels/attention.h"

namespace wquant {

void check_attention_args(const AttentionShape& s, int64_t n, int64_t n_keys, bool causal,
                          const AttentionLimits& limits) {
  if (s.heads < 1 || s.kv_heads < 1 || s.head_dim < 1 || s.heads % s.kv_heads != 0)
    fail("attention: bad shape: ", s.heads, " heads, ", s.kv_heads, " key/value heads, head size ",
         s.head_dim);
  if (n < 1 || n > n_keys) fail("attention: ", n, " queries over ", n_keys, " keys");
  if (limits.window < 0 || (limits.window > 0 && !causal))
    fail("attention: a window of ", limits.window, " keys", causal ? "" : " without causal masking");
  if (!(limits.softcap >= 0) || !std::isfinite(limits.softcap))
    fail("attention: soft-cap ", limits.softcap);
}

void attention_ref(const AttentionShape& s, const float* q, int64_t n, const float* keys,
                   const float* values, int64_t n_keys, bool causal, float scale, float* out,
                   const AttentionLimits& limits) {
  check_attention_args(s, n, n_keys, causal, limits);
  const int64_t hd = s.head_dim, q_dim = s.heads * hd, kv_dim = s.kv_heads * hd;
  const int64_t group = s.heads / s.kv_heads;
  std::vector<float> p(static_cast<size_t>(n_keys));
  for (int64_t t = 0; t < n; ++t) {
    const int64_t len = causal ? n_keys - n + t + 1 : n_keys;
    const int64_t first = first_visible_key(t, n, n_keys, limits);
    for (int64_t h = 0; h < s.heads; ++h) {
      const float* qh = q + t * q_dim + h * hd;
      const int64_t kv_offset = (h / group) * hd;
      for (int64_t j = first; j < len; ++j) {
        const float* k = keys + j * kv_dim + kv_offset;
        float dot = 0;
        for (int64_t d = 0; d < hd; ++d) dot += qh[d] * k[d];
        p[size_t(j)] = dot * scale;
        if (limits.softcap > 0) p[size_t(j)] = limits.softcap * std::tanh(p[size_t(j)] / limits.softcap);
      }
      const float max = *std::max_element(p.begin() + first, p.begin() + len);
      double sum = 0;
      for (int64_t j = first; j < len; ++j) sum += p[size_t(j)] = std::exp(p[size_t(j)] - max);
      const float inv = float(1.0 / sum);
      float* o = out + t * q_dim + h * hd;
      std::fill(o, o + hd, 0.0f);
      for (int64_t j = first; j < len; ++j) {
        const float w = p[size_t(j)] * inv;
        const float* v = values + j * kv_dim + kv_offset;
        for (int64_t d = 0; d < hd; ++d) o[d] += w * v[d];
      }
    }
  }
}

}  // namespace wquant
