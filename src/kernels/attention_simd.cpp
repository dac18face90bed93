// The SIMD attention kernel (attention.h): one (query, head) pair at a time,
// pairs split over the thread pool. Per pair: scores by vector dot products
// (4 keys at a time), exp by Highway's vector Exp, then the weighted sum of
// values accumulated in registers (8 vectors of the head at a time), scaled
// by 1 / sum at the end.

// foreach_target.h re-includes this file once per target (see linear_simd.cpp).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "../src/kernels/attention_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

#ifndef WQUANT_SRC_KERNELS_ATTENTION_SIMD_ONCE_
#define WQUANT_SRC_KERNELS_ATTENTION_SIMD_ONCE_
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attention_check.h"
#include "hwy/aligned_allocator.h"
#include "wquant/kernels/attention.h"
#include "wquant/kernels/simd_target.h"
#endif  // WQUANT_SRC_KERNELS_ATTENTION_SIMD_ONCE_

HWY_BEFORE_NAMESPACE();
namespace wquant {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Returns a . b over n floats.
HWY_INLINE float Dot(const float* a, const float* b, int64_t n) {
  const hn::ScalableTag<float> df;
  const int64_t N = int64_t(hn::Lanes(df));
  auto acc0 = hn::Zero(df), acc1 = hn::Zero(df);
  int64_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    acc0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), acc0);
    acc1 = hn::MulAdd(hn::LoadU(df, a + i + N), hn::LoadU(df, b + i + N), acc1);
  }
  for (; i + N <= n; i += N) acc0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), acc0);
  float sum = hn::GetLane(hn::SumOfLanes(df, hn::Add(acc0, acc1)));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// Writes q . k_r for the 4 keys k_r = keys + r * stride to out[r], n floats
// each: q is loaded once for the 4, and the 4 chains are independent.
HWY_INLINE void Dot4(const float* q, const float* keys, int64_t stride, int64_t n, float* out) {
  const hn::ScalableTag<float> df;
  const int64_t N = int64_t(hn::Lanes(df));
  const float* k0 = keys;
  const float* k1 = keys + stride;
  const float* k2 = keys + 2 * stride;
  const float* k3 = keys + 3 * stride;
  auto a0 = hn::Zero(df), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto qv = hn::LoadU(df, q + i);
    a0 = hn::MulAdd(qv, hn::LoadU(df, k0 + i), a0);
    a1 = hn::MulAdd(qv, hn::LoadU(df, k1 + i), a1);
    a2 = hn::MulAdd(qv, hn::LoadU(df, k2 + i), a2);
    a3 = hn::MulAdd(qv, hn::LoadU(df, k3 + i), a3);
  }
  out[0] = hn::GetLane(hn::SumOfLanes(df, a0));
  out[1] = hn::GetLane(hn::SumOfLanes(df, a1));
  out[2] = hn::GetLane(hn::SumOfLanes(df, a2));
  out[3] = hn::GetLane(hn::SumOfLanes(df, a3));
  for (; i < n; ++i) {
    out[0] += q[i] * k0[i], out[1] += q[i] * k1[i];
    out[2] += q[i] * k2[i], out[3] += q[i] * k3[i];
  }
}

// One query head over `len` keys. p: scratch of at least len rounded up to
// a whole vector, 16-byte aligned or better.
// softcap > 0: scores capped as softcap * tanh(score / softcap).
HWY_INLINE void AttendHead(const float* q, const float* keys, const float* values, int64_t len,
                           int64_t stride, int64_t hd, float scale, float softcap, float* p,
                           float* out) {
  const hn::ScalableTag<float> df;
  const int64_t N = int64_t(hn::Lanes(df));
  float max = std::numeric_limits<float>::lowest();
  int64_t j = 0;
  for (; j + 4 <= len; j += 4) {
    Dot4(q, keys + j * stride, stride, hd, p + j);
    for (int64_t r = j; r < j + 4; ++r) p[r] *= scale;
  }
  for (; j < len; ++j) p[j] = Dot(q, keys + j * stride, hd) * scale;
  if (softcap > 0)
    for (j = 0; j < len; ++j) p[j] = softcap * std::tanh(p[j] / softcap);
  for (j = 0; j < len; ++j) max = std::max(max, p[j]);
  // Pad to a whole vector with the lowest float: its exp is 0.
  const int64_t padded = (len + N - 1) / N * N;
  std::fill(p + len, p + padded, std::numeric_limits<float>::lowest());
  const auto vmax = hn::Set(df, max);
  auto vsum = hn::Zero(df);
  for (j = 0; j < padded; j += N) {
    const auto e = hn::Exp(df, hn::Sub(hn::Load(df, p + j), vmax));
    hn::Store(e, df, p + j);
    vsum = hn::Add(vsum, e);
  }
  const float inv = 1.0f / hn::GetLane(hn::SumOfLanes(df, vsum));
  // The weighted sum of values, 8 vectors of the head at a time: 8
  // independent multiply-add chains per key (one chain waits on the FMA
  // latency, 4x slower).
  int64_t d = 0;
  for (; d + 8 * N <= hd; d += 8 * N) {
    auto a0 = hn::Zero(df), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (j = 0; j < len; ++j) {
      const auto pj = hn::Set(df, p[j]);
      const float* v = values + j * stride + d;
      a0 = hn::MulAdd(pj, hn::LoadU(df, v), a0);
      a1 = hn::MulAdd(pj, hn::LoadU(df, v + N), a1);
      a2 = hn::MulAdd(pj, hn::LoadU(df, v + 2 * N), a2);
      a3 = hn::MulAdd(pj, hn::LoadU(df, v + 3 * N), a3);
      a4 = hn::MulAdd(pj, hn::LoadU(df, v + 4 * N), a4);
      a5 = hn::MulAdd(pj, hn::LoadU(df, v + 5 * N), a5);
      a6 = hn::MulAdd(pj, hn::LoadU(df, v + 6 * N), a6);
      a7 = hn::MulAdd(pj, hn::LoadU(df, v + 7 * N), a7);
    }
    const auto vinv = hn::Set(df, inv);
    hn::StoreU(hn::Mul(a0, vinv), df, out + d), hn::StoreU(hn::Mul(a1, vinv), df, out + d + N);
    hn::StoreU(hn::Mul(a2, vinv), df, out + d + 2 * N);
    hn::StoreU(hn::Mul(a3, vinv), df, out + d + 3 * N);
    hn::StoreU(hn::Mul(a4, vinv), df, out + d + 4 * N);
    hn::StoreU(hn::Mul(a5, vinv), df, out + d + 5 * N);
    hn::StoreU(hn::Mul(a6, vinv), df, out + d + 6 * N);
    hn::StoreU(hn::Mul(a7, vinv), df, out + d + 7 * N);
  }
  for (; d + N <= hd; d += N) {
    auto acc = hn::Zero(df);
    for (j = 0; j < len; ++j)
      acc = hn::MulAdd(hn::Set(df, p[j]), hn::LoadU(df, values + j * stride + d), acc);
    hn::StoreU(hn::Mul(acc, hn::Set(df, inv)), df, out + d);
  }
  for (; d < hd; ++d) {
    float acc = 0;
    for (j = 0; j < len; ++j) acc += p[j] * values[j * stride + d];
    out[d] = acc * inv;
  }
}

void AttentionT(const AttentionShape& s, const float* q, int64_t n, const float* keys,
                const float* values, int64_t n_keys, bool causal, float scale, float* out,
                ThreadPool& pool, const AttentionLimits& limits) {
  const int64_t hd = s.head_dim, q_dim = s.heads * hd, kv_dim = s.kv_heads * hd;
  const int64_t group = s.heads / s.kv_heads;
  const int64_t N = int64_t(hn::Lanes(hn::ScalableTag<float>()));
  // Each pair is about n_keys * head_dim * 2 multiply-adds; keep a chunk
  // above ~64K of them so that short contexts do not pay thread handoffs.
  const int64_t min_pairs = std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(n_keys * hd * 2, 1));
  pool.parallel_for(n * s.heads, [&](int64_t begin, int64_t end) {
    auto p = hwy::AllocateAligned<float>(size_t((n_keys + N - 1) / N * N));
    for (int64_t i = begin; i < end; ++i) {
      const int64_t t = i / s.heads, h = i % s.heads;
      const int64_t len = causal ? n_keys - n + t + 1 : n_keys;
      const int64_t first = first_visible_key(t, n, n_keys, limits);
      const int64_t offset = first * kv_dim + (h / group) * hd;
      AttendHead(q + t * q_dim + h * hd, keys + offset, values + offset, len - first, kv_dim, hd,
                 scale, limits.softcap, p.get(), out + t * q_dim + h * hd);
    }
  }, min_pairs);
}

}  // namespace HWY_NAMESPACE
}  // namespace wquant
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace wquant {

HWY_EXPORT(AttentionT);

void attention(const AttentionShape& shape, const float* q, int64_t n, const float* keys,
               const float* values, int64_t n_keys, bool causal, float scale, float* out,
               ThreadPool& pool, const AttentionLimits& limits) {
  check_attention_args(shape, n, n_keys, causal, limits);
  init_simd_target_from_env();
  HWY_DYNAMIC_DISPATCH(AttentionT)(shape, q, n, keys, values, n_keys, causal, scale, out, pool,
                                   limits);
}

}  // namespace wquant
#endif  // HWY_ONCE
