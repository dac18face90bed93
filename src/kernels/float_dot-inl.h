// Per-target SIMD dot products of float weight rows (F32, F16, BF16) with
// f32 activations. Included by linear_simd.cpp once per Highway target.
#if defined(WQUANT_SRC_KERNELS_FLOAT_DOT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WQUANT_SRC_KERNELS_FLOAT_DOT_INL_H_
#undef WQUANT_SRC_KERNELS_FLOAT_DOT_INL_H_
#else
#define WQUANT_SRC_KERNELS_FLOAT_DOT_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace wquant {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Returns N weights at p widened to f32 (exact).
template <class DF>
HWY_INLINE hn::Vec<DF> LoadWeights(DF df, const float* p) { return hn::LoadU(df, p); }
template <class DF>
HWY_INLINE hn::Vec<DF> LoadWeights(DF df, const hwy::float16_t* p) {
  return hn::PromoteTo(df, hn::LoadU(hn::Rebind<hwy::float16_t, DF>(), p));
}
template <class DF>
HWY_INLINE hn::Vec<DF> LoadWeights(DF df, const hwy::bfloat16_t* p) {
  return hn::PromoteTo(df, hn::LoadU(hn::Rebind<hwy::bfloat16_t, DF>(), p));
}

// Writes to sums[t], t < kTokens, the dot product of w_row [cols] (weights
// of type T) with token t's activations x + t * x_stride [cols], in f32.
// The last partial vector is copied into zero-padded buffers, so nothing
// past either row is read.
template <size_t kTokens, typename T>
HWY_INLINE void DotFloatRow(const T* w_row, int64_t cols, const float* x, int64_t x_stride,
                            float* sums) {
  static_assert(kTokens >= 1 && kTokens <= 4, "up to 4 tokens at a time");
  const hn::ScalableTag<float> df;
  const int64_t N = int64_t(hn::Lanes(df));
  auto acc0 = hn::Zero(df), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  // One step: weights at w (N values), activations at x_t + c for each token.
  const auto step = [&](const T* w, const float* x0, int64_t stride) HWY_ATTR {
    const auto wv = LoadWeights(df, w);
    acc0 = hn::MulAdd(wv, hn::LoadU(df, x0), acc0);
    if constexpr (kTokens > 1) acc1 = hn::MulAdd(wv, hn::LoadU(df, x0 + stride), acc1);
    if constexpr (kTokens > 2) acc2 = hn::MulAdd(wv, hn::LoadU(df, x0 + 2 * stride), acc2);
    if constexpr (kTokens > 3) acc3 = hn::MulAdd(wv, hn::LoadU(df, x0 + 3 * stride), acc3);
  };
  int64_t c = 0;
  if constexpr (kTokens == 1) {
    // One token has one chain; four vectors per step make four (FMA latency
    // 4, two per cycle), added at the end: without them a row in cache
    // runs at half speed.
    auto acc1a = hn::Zero(df), acc2a = acc1a, acc3a = acc1a;
    for (; c + 4 * N <= cols; c += 4 * N) {
      acc0 = hn::MulAdd(LoadWeights(df, w_row + c), hn::LoadU(df, x + c), acc0);
      acc1a = hn::MulAdd(LoadWeights(df, w_row + c + N), hn::LoadU(df, x + c + N), acc1a);
      acc2a = hn::MulAdd(LoadWeights(df, w_row + c + 2 * N), hn::LoadU(df, x + c + 2 * N), acc2a);
      acc3a = hn::MulAdd(LoadWeights(df, w_row + c + 3 * N), hn::LoadU(df, x + c + 3 * N), acc3a);
    }
    acc0 = hn::Add(hn::Add(acc0, acc1a), hn::Add(acc2a, acc3a));
  }
  for (; c + N <= cols; c += N) step(w_row + c, x + c, x_stride);
  if (c < cols) {
    const size_t rest = size_t(cols - c);
    constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);
    HWY_ALIGN T w_tail[kMaxLanes] = {};
    HWY_ALIGN float x_tail[kTokens * kMaxLanes] = {};
    std::memcpy(w_tail, w_row + c, rest * sizeof(T));
    for (size_t t = 0; t < kTokens; ++t) {
      std::memcpy(x_tail + t * kMaxLanes, x + int64_t(t) * x_stride + c, rest * sizeof(float));
    }
    step(w_tail, x_tail, int64_t(kMaxLanes));
  }
  sums[0] = hn::GetLane(hn::SumOfLanes(df, acc0));
  if constexpr (kTokens > 1) sums[1] = hn::GetLane(hn::SumOfLanes(df, acc1));
  if constexpr (kTokens > 2) sums[2] = hn::GetLane(hn::SumOfLanes(df, acc2));
  if constexpr (kTokens > 3) sums[3] = hn::GetLane(hn::SumOfLanes(df, acc3));
}

}  // namespace HWY_NAMESPACE
}  // namespace wquant
HWY_AFTER_NAMESPACE();

#endif  // WQUANT_SRC_KERNELS_FLOAT_DOT_INL_H_ toggle
