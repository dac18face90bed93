// The SIMD linear kernels (linear.h): per-target drivers that split rows over
// the thread pool and call the dot products of quantized_dot-inl.h and
// float_dot-inl.h, and the entry points that dispatch to them once per call.

// foreach_target.h re-includes this file once per target. The path must be
// reachable from an include directory; include/ is the only one, hence "../src".
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "../src/kernels/linear_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include "float_dot-inl.h"
#include "quantized_dot-inl.h"

#ifndef WQUANT_SRC_KERNELS_LINEAR_SIMD_ONCE_
#define WQUANT_SRC_KERNELS_LINEAR_SIMD_ONCE_
#include <algorithm>
#include <bit>
#include <vector>

#include "hwy/aligned_allocator.h"
#include "wquant/kernels/thread_pool.h"
#include "wquant/kernels/weight_matrix.h"

static_assert(std::endian::native == std::endian::little,
              "packed int32 words are read as little-endian bytes");

namespace wquant {
// Tokens handled together by one pass over a weight row (they share each
// decoded weight vector; DotPackedRow / DotFloatRow take up to 4).
constexpr int64_t kTokenBlock = 4;

// Returns the rows per tile: a tile's weights (about 32 KiB) stay in cache
// while every token block passes over them.
inline int64_t rows_per_tile(int64_t row_bytes) {
  return std::max<int64_t>(1, (int64_t(32) << 10) / std::max<int64_t>(row_bytes, 1));
}

// Returns the fewest rows worth a thread: about 64K multiply-adds.
inline int64_t min_rows_per_thread(int64_t in, int64_t n_tokens) {
  return std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(in * n_tokens, 1));
}
}  // namespace wquant
#endif  // WQUANT_SRC_KERNELS_LINEAR_SIMD_ONCE_

HWY_BEFORE_NAMESPACE();
namespace wquant {
namespace HWY_NAMESPACE {

// Calls row_fn(r, t0, k) for every row r of [0, out) and every block of
// k <= kTokenBlock tokens starting at t0, rows split over the pool, tile by
// tile. make_worker() is called once per thread chunk and returns row_fn,
// so that it can own scratch buffers.
template <class MakeWorker>
void ForRowsAndTokenBlocks(int64_t out, int64_t in, int64_t n_tokens, int64_t row_bytes,
                           ThreadPool& pool, const MakeWorker& make_worker) {
  const int64_t tile = rows_per_tile(row_bytes);
  pool.parallel_for(out, [&](int64_t begin, int64_t end) {
    auto row_fn = make_worker();
    for (int64_t r0 = begin; r0 < end; r0 += tile) {
      const int64_t r1 = std::min(end, r0 + tile);
      for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenBlock) {
        const int64_t k = std::min(kTokenBlock, n_tokens - t0);
        for (int64_t r = r0; r < r1; ++r) row_fn(r, t0, k);
      }
    }
  }, min_rows_per_thread(in, n_tokens));
}

template <typename T>
void MatMulFloatTyped(const FloatMatrixView& w, const float* x, int64_t n_tokens,
                      const float* bias, float* y, ThreadPool& pool) {
  const int64_t out = w.rows, in = w.cols;
  const T* weights = static_cast<const T*>(w.data);
  ForRowsAndTokenBlocks(out, in, n_tokens, in * int64_t(sizeof(T)), pool, [&] {
    return [&](int64_t r, int64_t t0, int64_t k) {
      float sums[kTokenBlock];
      const T* row = weights + r * in;
      const float* xt = x + t0 * in;
      switch (k) {
        case 1: DotFloatRow<1>(row, in, xt, in, sums); break;
        case 2: DotFloatRow<2>(row, in, xt, in, sums); break;
        case 3: DotFloatRow<3>(row, in, xt, in, sums); break;
        default: DotFloatRow<4>(row, in, xt, in, sums); break;
      }
      for (int64_t t = 0; t < k; ++t) y[(t0 + t) * out + r] = sums[t] + (bias ? bias[r] : 0.0f);
    };
  });
}

// y = x W^T + bias for a float weight; x is f32 [n_tokens, in].
void MatMulFloatT(const FloatMatrixView& w, const float* x, int64_t n_tokens, const float* bias,
                  float* y, ThreadPool& pool) {
  switch (w.dtype) {
    case DType::F16: return MatMulFloatTyped<hwy::float16_t>(w, x, n_tokens, bias, y, pool);
    case DType::BF16: return MatMulFloatTyped<hwy::bfloat16_t>(w, x, n_tokens, bias, y, pool);
    default: return MatMulFloatTyped<float>(w, x, n_tokens, bias, y, pool);
  }
}

// Writes scales [first, first + count) of w as f32 to out (exact).
inline void ScalesToF32(const QuantizedMatrixView& w, int64_t first, int64_t count, float* out) {
  const hn::ScalableTag<float> df;
  const int64_t N = int64_t(hn::Lanes(df));
  const auto convert = [&](const auto* scales) HWY_ATTR {
    int64_t i = 0;
    for (; i + N <= count; i += N) hn::StoreU(LoadWeights(df, scales + first + i), df, out + i);
    for (; i < count; ++i) out[i] = w.scale_at(first + i);
  };
  switch (w.scale_dtype) {
    case DType::F16: return convert(static_cast<const hwy::float16_t*>(w.scales));
    case DType::BF16: return convert(static_cast<const hwy::bfloat16_t*>(w.scales));
    default: return convert(static_cast<const float*>(w.scales));
  }
}

template <int kBits>
void MatMulPacked(const QuantizedMatrixView& w, const float* x, int64_t n_tokens,
                  const float* bias, float* y, ThreadPool& pool) {
  constexpr int64_t kPerWord = 32 / kBits;
  const int64_t out = w.rows, in = w.cols, N = int64_t(hn::Lanes(hn::ScalableTag<float>()));
  const int64_t words = w.row_words(), blocks = (words + N - 1) / N;
  const int64_t n_groups = w.n_groups(), group = w.group_cols();

  // Activations in packed order, one row of blocks * N * kPerWord per token,
  // and for zero-points the sum of each token's x over each group.
  const int64_t xp_stride = blocks * N * kPerWord;
  auto xp = hwy::AllocateAligned<float>(size_t(std::max<int64_t>(n_tokens * xp_stride, 1)));
  std::vector<float> group_sums(w.zero_points ? size_t(n_tokens * n_groups) : 0);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* xt = x + t * in;
    PermuteToPackedOrder(xt, in, kPerWord, N, blocks, xp.get() + t * xp_stride);
    for (int64_t g = 0; w.zero_points && g < n_groups; ++g) {
      float sum = 0.0f;
      for (int64_t c = g * group; c < std::min(in, (g + 1) * group); ++c) sum += xt[c];
      group_sums[size_t(t * n_groups + g)] = sum;
    }
  }

  // A block of N words lies in one group when a group is a multiple of N
  // words; otherwise each word's scale is spelled out (RowScales::per_word).
  const int64_t words_per_group = n_groups == 1 ? words : group / kPerWord;
  const bool per_word = n_groups > 1 && words_per_group % N != 0;
  const int64_t blocks_per_group = n_groups == 1 || per_word ? 0 : words_per_group / N;
  const uint8_t* packed = static_cast<const uint8_t*>(w.packed);
  ForRowsAndTokenBlocks(out, in, n_tokens, words * 4, pool, [&] {
    return [&, group_scales = std::vector<float>(size_t(n_groups)),
            word_scales = std::vector<float>(per_word ? size_t(blocks * N) : 0)](
               int64_t r, int64_t t0, int64_t k) mutable {
      const int64_t first_scale = w.scale_index(r, 0);  // of the row's group 0
      ScalesToF32(w, first_scale, n_groups, group_scales.data());
      if (per_word) {
        for (int64_t g = 0, i = 0; g < n_groups; ++g) {
          for (const int64_t end = std::min(words, i + words_per_group); i < end; ++i) {
            word_scales[size_t(i)] = group_scales[size_t(g)];
          }
        }
      }
      const RowScales scales{group_scales.data(), blocks_per_group,
                             per_word ? word_scales.data() : nullptr};
      float sums[kTokenBlock];
      const uint8_t* row = packed + r * words * 4;
      const float* xt = xp.get() + t0 * xp_stride;
      switch (k) {
        case 1: DotPackedRow<kBits, 1>(row, words, xt, xp_stride, scales, sums); break;
        case 2: DotPackedRow<kBits, 2>(row, words, xt, xp_stride, scales, sums); break;
        case 3: DotPackedRow<kBits, 3>(row, words, xt, xp_stride, scales, sums); break;
        default: DotPackedRow<kBits, 4>(row, words, xt, xp_stride, scales, sums); break;
      }
      for (int64_t t = 0; t < k; ++t) {
        float v = sums[t];
        if (w.zero_points) {  // sum_c (q - zp) s x = sum_c q s x - sum_g s zp sum(x over g)
          const float* gs = group_sums.data() + (t0 + t) * n_groups;
          const int8_t* zp = w.zero_points + first_scale;
          for (int64_t g = 0; g < n_groups; ++g) {
            v -= group_scales[size_t(g)] * float(zp[g]) * gs[g];
          }
        }
        y[(t0 + t) * out + r] = v + (bias ? bias[r] : 0.0f);
      }
    };
  });
}

// y = x W^T + bias for a quantized weight that has_simd_kernel accepts; x is
// f32 [n_tokens, in].
void MatMulQuantizedT(const QuantizedMatrixView& w, const float* x, int64_t n_tokens,
                      const float* bias, float* y, ThreadPool& pool) {
  switch (w.bits) {
    case 2: return MatMulPacked<2>(w, x, n_tokens, bias, y, pool);
    case 4: return MatMulPacked<4>(w, x, n_tokens, bias, y, pool);
    default: return MatMulPacked<8>(w, x, n_tokens, bias, y, pool);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wquant
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include "linear_ref_rows.h"
#include "wquant/kernels/linear.h"
#include "wquant/kernels/simd_target.h"

namespace wquant {
HWY_EXPORT(MatMulFloatT);
HWY_EXPORT(MatMulQuantizedT);

bool has_simd_kernel(const WeightMatrix& w) {
  const auto* q = std::get_if<QuantizedMatrixView>(&w);
  if (!q) return true;
  if (q->bits != 2 && q->bits != 4 && q->bits != 8) return false;
  return q->n_groups() == 1 || q->group_size % (32 / q->bits) == 0;
}

void matmul(const WeightMatrix& w, const void* x, DType x_dtype, int64_t n_tokens,
            const float* bias, float* y, ThreadPool& pool) {
  init_simd_target_from_env();
  validate(w, "matmul");
  const int64_t out = out_features(w), in = in_features(w);
  // Converted (F16/BF16) or copied (F32, which may be unaligned): in * n_tokens
  // floats, small next to the out * in weights.
  const std::vector<float> xf = activations_to_f32(x, x_dtype, n_tokens, in, "matmul");
  if (out == 0 || n_tokens == 0) return;
  if (!has_simd_kernel(w)) {
    pool.parallel_for(out, [&](int64_t begin, int64_t end) {
      reference_rows(w, xf.data(), n_tokens, bias, y, begin, end);
    }, min_rows_per_thread(in, n_tokens));
  } else if (const auto* f = std::get_if<FloatMatrixView>(&w)) {
    HWY_DYNAMIC_DISPATCH(MatMulFloatT)(*f, xf.data(), n_tokens, bias, y, pool);
  } else {
    HWY_DYNAMIC_DISPATCH(MatMulQuantizedT)(std::get<QuantizedMatrixView>(w), xf.data(),
                                           n_tokens, bias, y, pool);
  }
}

void matvec(const WeightMatrix& w, const void* x, DType x_dtype, const float* bias, float* y,
            ThreadPool& pool) {
  matmul(w, x, x_dtype, 1, bias, y, pool);
}

}  // namespace wquant
#endif  // HWY_ONCE
