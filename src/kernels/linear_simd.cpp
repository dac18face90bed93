// The SIMD linear kernels (linear.h): per-target drivers that split rows over
// the thread pool and call the kernels of float_dot-inl.h (float matrix-
// vector), quantized_matvec-inl.h (packed matrix-vector) and gemm-inl.h
// (matrix-matrix, any weight), and the entry points that dispatch to them
// once per call.

// foreach_target.h re-includes this file once per target. The path must be
// reachable from an include directory; include/ is the only one, hence "../src".
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "../src/kernels/linear_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include "float_dot-inl.h"
#include "gemm-inl.h"
#include "int16_matvec-inl.h"
#include "packed_decode-inl.h"
#include "quantized_matvec-inl.h"
#include "vnni_matvec-inl.h"

#ifndef WQUANT_SRC_KERNELS_LINEAR_SIMD_ONCE_
#define WQUANT_SRC_KERNELS_LINEAR_SIMD_ONCE_
#include <algorithm>
#include <bit>
#include <memory>
#include <vector>

#include "hwy/aligned_allocator.h"
#include "wquant/kernels/thread_pool.h"
#include "wquant/kernels/weight_matrix.h"

static_assert(std::endian::native == std::endian::little,
              "packed int32 words are read as little-endian bytes");

namespace wquant {
// Tokens handled together by one pass over a float weight row (they share
// each weight vector; DotFloatRow takes up to 4).
constexpr int64_t kTokenBlock = 4;
// From this many tokens on, matmul runs the tiled GEMM (gemm-inl.h); below,
// each token runs the matrix-vector kernels.
constexpr int64_t kGemmMinTokens = 4;

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

// Returns xt [nt / kTokenTile, K, kTokenTile], the activations x [n_tokens,
// in] transposed for the GEMM, tile by tile (gemm-inl.h): xt[(t / kTokenTile)
// * K * kTokenTile + k * kTokenTile + t % kTokenTile] = token t's activation
// at position k of the weight's column order, 0 for padding tokens and
// columns. order(x_t, tmp) writes one token in that order to tmp [K].
// xt is valid until the calling thread's next call.
// The buffer is the calling thread's, reused by its later calls: a fresh
// allocation of this size is mmap-ed, and its page faults cost 5% of a
// 64-token call on SmolLM2's shapes.
template <class Order>
const float* TransposeActivations(const float* x, int64_t n_tokens, int64_t in, int64_t K,
                                  int64_t nt, const Order& order) {
  thread_local hwy::AlignedFreeUniquePtr<float[]> buffer;
  thread_local size_t capacity = 0;
  if (capacity < size_t(K * nt)) {
    buffer = hwy::AllocateAligned<float>(size_t(K * nt));
    capacity = size_t(K * nt);
  }
  float* xt = buffer.get();
  std::fill(xt, xt + K * nt, 0.0f);
  std::vector<float> tmp(static_cast<size_t>(K));
  for (int64_t t = 0; t < n_tokens; ++t) {
    order(x + t * in, tmp.data());
    float* tile = xt + (t / kTokenTile) * K * kTokenTile + t % kTokenTile;
    for (int64_t k = 0; k < K; ++k) tile[k * kTokenTile] = tmp[size_t(k)];
  }
  return xt;
}

// Splits rows over the pool in panels of kPanelRows and runs the GEMM on
// each. make_dequantize() is called once per thread chunk and returns
// dequantize(row, k0, depth, out), which writes W's row `row`, packed-order
// columns [k0, k0 + depth), in f32 to out.
template <class MakeDequantize>
void GemmRows(int64_t out, int64_t in, int64_t n_tokens, int64_t K, const float* xt,
              const float* bias, float* y, ThreadPool& pool,
              const MakeDequantize& make_dequantize) {
  const int64_t nt = (n_tokens + kTokenTile - 1) / kTokenTile * kTokenTile;
  pool.parallel_for(out, [&](int64_t begin, int64_t end) {
    auto wd = hwy::AllocateAligned<float>(size_t(kPanelRows * kDepth));
    auto yt = hwy::AllocateAligned<float>(size_t(kPanelRows * nt));
    std::fill(wd.get(), wd.get() + kPanelRows * kDepth, 0.0f);
    auto dequantize = make_dequantize();
    for (int64_t p0 = begin; p0 < end; p0 += kPanelRows) {
      const int64_t rows = std::min(kPanelRows, end - p0);
      std::fill(yt.get(), yt.get() + kPanelRows * nt, 0.0f);
      GemmPanel(rows, K, xt, nt, [&](int64_t i, int64_t k0, int64_t depth, float* dst) HWY_ATTR {
        dequantize(p0 + i, k0, depth, dst);
      }, wd.get(), yt.get());
      for (int64_t i = 0; i < rows; ++i) {
        const float b = bias ? bias[p0 + i] : 0.0f;
        for (int64_t t = 0; t < n_tokens; ++t) y[t * out + p0 + i] = yt[size_t(i * nt + t)] + b;
      }
    }
  }, std::max<int64_t>(kMicroRows, min_rows_per_thread(in, n_tokens)));
}

template <typename T>
void MatMulFloatTyped(const FloatMatrixView& w, const float* x, int64_t n_tokens,
                      const float* bias, float* y, ThreadPool& pool) {
  const int64_t out = w.rows, in = w.cols;
  const T* weights = static_cast<const T*>(w.data);
  if (n_tokens >= kGemmMinTokens) {
    const int64_t nt = (n_tokens + kTokenTile - 1) / kTokenTile * kTokenTile;
    const auto xt = TransposeActivations(x, n_tokens, in, in, nt, [&](const float* xr, float* o) {
      std::copy(xr, xr + in, o);
    });
    return GemmRows(out, in, n_tokens, in, xt, bias, y, pool, [&] {
      return [&](int64_t r, int64_t k0, int64_t depth, float* dst) HWY_ATTR {
        FloatRowTile(weights + r * in, k0, depth, dst);
      };
    });
  }
  ForRowsAndTokenBlocks(out, in, n_tokens, in * int64_t(sizeof(T)), pool, [&] {
    return [&](int64_t r, int64_t t0, int64_t k) {
      float sums[kTokenBlock];
      const T* row = weights + r * in;
      const float* xt = x + t0 * in;
      // One token at a time (the row stays in L1 for the next): the same
      // arithmetic as a lone matvec, bit for bit, with 4 chains per token.
      for (int64_t t = 0; t < k; ++t) DotFloatRow<1>(row, in, xt + t * in, in, sums + t);
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

// The f32 scales of a thread chunk's rows and, when `correct`, the
// coefficients scale_g (offset + zp_g) of their offset / zero-point
// corrections, converted kRows rows at a time, vectorized (with 576-wide
// rows, converting per row cost as much as the row's dot product). A
// per-tensor scale is shared by every row (stride 0).
class RowScales {
 public:
  RowScales(const QuantizedMatrixView& w, bool correct, float offset)
      : w_(w), correct_(correct), offset_(offset),
        per_tensor_(w.granularity == Granularity::PerTensor), n_groups_(w.n_groups()),
        stride_(per_tensor_ ? 0 : n_groups_),
        scales_(size_t((per_tensor_ ? 1 : kRows) * n_groups_ + kPad)),
        coef_(correct ? scales_.size() : 0) {}

  // Makes rows [r0, r0 + rows) available; r0 ascends, `end` is the chunk's end.
  void cover(int64_t r0, int64_t rows, int64_t end) {
    if (from_ >= 0 && (per_tensor_ || r0 + rows <= from_ + kRows)) return;
    from_ = r0;
    const int64_t first = w_.scale_index(per_tensor_ ? 0 : r0, 0);
    const int64_t count = per_tensor_ ? n_groups_ : std::min(kRows, end - r0) * n_groups_;
    ScalesToF32(w_, first, count, scales_.data());
    if (correct_) {
      GroupCorrections(scales_.data(), w_.zero_points ? w_.zero_points + first : nullptr,
                       offset_, count, coef_.data());
    }
  }
  // Row r's scales / coefficients, n_groups of each (r covered), readable
  // kPad floats past the last row's (vnni_matvec-inl.h loads 16 at a time).
  const float* scales(int64_t r) const { return scales_.data() + (r - from_) * stride_; }
  const float* coef(int64_t r) const { return coef_.data() + (r - from_) * stride_; }
  // Distance between consecutive rows' scales: n_groups, 0 per tensor.
  int64_t stride() const { return stride_; }

 private:
  static constexpr int64_t kRows = 64, kPad = 16;
  const QuantizedMatrixView& w_;
  const bool correct_;
  const float offset_;
  const bool per_tensor_;
  const int64_t n_groups_, stride_;
  std::vector<float> scales_, coef_;
  int64_t from_ = -1;  // first covered row; -1 none yet
};

// Calls dot(std::integral_constant<int, rows>()) for rows in 1..4: the row
// count of a block as a compile-time constant.
template <class Dot>
HWY_INLINE void WithRowCount(int64_t rows, const Dot& dot) {
  switch (rows) {
    case 1: return dot(std::integral_constant<int, 1>());
    case 2: return dot(std::integral_constant<int, 2>());
    case 3: return dot(std::integral_constant<int, 3>());
    default: return dot(std::integral_constant<int, 4>());
  }
}

// Writes y_t[r0 + i] = (sums[i] - the row's offset / zero-point correction)
// * factor + bias for the block's rows; group_sums_t: the token's sums of
// activations per group (nullptr: no correction).
HWY_INLINE void FinishRows(const float* sums, int64_t r0, int64_t rows, const RowScales& rs,
                           const float* group_sums_t, int64_t n_groups, float factor,
                           const float* bias, float* y_t) {
  for (int64_t i = 0; i < rows; ++i) {
    float v = sums[i];
    if (group_sums_t) v -= DotF32(rs.coef(r0 + i), group_sums_t, n_groups);
    y_t[r0 + i] = v * factor + (bias ? bias[r0 + i] : 0.0f);
  }
}

// Matrix-vector (and a few tokens, each on its own): rows 4 at a time,
// every weight byte decoded once per token. DotPackedRows sums codes u =
// q + CodeOffset (4 and 2 bits); the offset and the zero-points are taken
// off per row as sum_g scale_g (CodeOffset + zp_g) (sum of x over g).
template <int kBits>
void MatvecPacked(const QuantizedMatrixView& w, const float* x, int64_t n_tokens,
                  const float* bias, float* y, ThreadPool& pool) {
  const PackedLayout<kBits> L(w);
  const int64_t out = w.rows, in = w.cols, n_groups = L.n_groups;
  // Groups that are not whole chunks go through DotPackedRowLaneScales,
  // which decodes q itself (no offset).
  const bool lanes = L.group_chunks == 0;
  const float offset = lanes ? 0.0f : CodeOffset<kBits>();
  const bool correct = offset != 0.0f || w.zero_points;
  // Activations in packed order, and each token's sum of x over each group.
  auto xp = hwy::AllocateAligned<float>(size_t(n_tokens * L.K));
  std::vector<float> group_sums(correct ? size_t(n_tokens * n_groups) : 0);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* xt = x + t * in;
    PermuteToPackedOrder<kBits>(xt, in, L.chunks, xp.get() + t * L.K);
    for (int64_t g = 0; correct && g < n_groups; ++g) {
      float sum = 0.0f;
      for (int64_t c = g * L.group; c < std::min(in, (g + 1) * L.group); ++c) sum += xt[c];
      group_sums[size_t(t * n_groups + g)] = sum;
    }
  }
  const uint8_t* packed = static_cast<const uint8_t*>(w.packed);
  pool.parallel_for(out, [&](int64_t begin, int64_t end) {
    RowScales rs(w, correct, offset);
    std::vector<float> lane_scales(lanes ? size_t(4 * L.K) : 0);
    for (int64_t r0 = begin; r0 < end; r0 += 4) {
      const int64_t rows = std::min<int64_t>(4, end - r0);
      rs.cover(r0, rows, end);
      for (int64_t i = 0; lanes && i < rows; ++i) {
        for (int64_t k = 0; k < L.K; ++k) {
          lane_scales[size_t(i * L.K + k)] = rs.scales(r0 + i)[L.group_of(k)];
        }
      }
      const uint8_t* row = packed + r0 * L.row_bytes;
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xt = xp.get() + t * L.K;
        float sums[4];
        if (lanes) {
          for (int64_t i = 0; i < rows; ++i) {
            sums[i] = DotPackedRowLaneScales<kBits>(row + i * L.row_bytes, L.row_bytes, L.chunks,
                                                    xt, lane_scales.data() + i * L.K);
          }
        } else {
          WithRowCount(rows, [&](auto k) HWY_ATTR {
            DotPackedRows<kBits, decltype(k)::value>(row, L.row_bytes, L.chunks, xt,
                                                     L.group_chunks, rs.scales(r0), n_groups,
                                                     rs.stride(), sums);
          });
        }
        FinishRows(sums, r0, rows, rs, correct ? group_sums.data() + t * n_groups : nullptr,
                   n_groups, 1.0f, bias, y + t * out);
      }
    }
  }, std::max<int64_t>(4, min_rows_per_thread(in, n_tokens)));
}

// The row loop of the integer matrix-vector kernels: rows 4 at a time over
// the pool; for each block and token, dot(row, r0, t, rs, k, sums) writes
// the sums of the block's k rows (k a std::integral_constant, row = the
// block's first packed row, rs its scales), and FinishRows takes off the
// offset / zero-point correction (group_sums [n_tokens, n_groups] when
// `correct`) and scales token t's outputs by sigma[t].
template <class Dot>
void IntegerMatvecRows(const QuantizedMatrixView& w, int64_t n_tokens, bool correct,
                       float offset, const std::vector<float>& group_sums,
                       const std::vector<float>& sigma, const float* bias, float* y,
                       ThreadPool& pool, const Dot& dot) {
  const int64_t out = w.rows, n_groups = w.n_groups(), row_bytes = w.row_words() * 4;
  const uint8_t* packed = static_cast<const uint8_t*>(w.packed);
  pool.parallel_for(out, [&](int64_t begin, int64_t end) {
    RowScales rs(w, correct, offset);
    for (int64_t r0 = begin; r0 < end; r0 += 4) {
      const int64_t rows = std::min<int64_t>(4, end - r0);
      rs.cover(r0, rows, end);
      const uint8_t* row = packed + r0 * row_bytes;
      for (int64_t t = 0; t < n_tokens; ++t) {
        float sums[4];
        WithRowCount(rows, [&](auto k) HWY_ATTR { dot(row, r0, t, rs, k, sums); });
        FinishRows(sums, r0, rows, rs, correct ? group_sums.data() + t * n_groups : nullptr,
                   n_groups, sigma[size_t(t)], bias, y + t * out);
      }
    }
  }, std::max<int64_t>(4, min_rows_per_thread(w.cols, n_tokens)));
}

// Matrix-vector with 16-bit integer activations (int16_matvec-inl.h), for
// weights whose groups are whole chunks: each token is rounded once per
// call, rows 4 at a time as MatvecPacked. The offset / zero-point
// correction uses each group's sum of the rounded activations.
template <int kBits>
void MatvecPacked16(const QuantizedMatrixView& w, const float* x, int64_t n_tokens,
                    const float* bias, float* y, ThreadPool& pool) {
  const int64_t in = w.cols, n_groups = w.n_groups();
  const int64_t row_bytes = w.row_words() * 4, N = Chunk16Bytes();
  const int64_t chunks = (row_bytes + N - 1) / N, K = chunks * Chunk16Cols<kBits>();
  const int64_t group_chunks = n_groups == 1 ? chunks : w.group_cols() / Chunk16Cols<kBits>();
  const float offset = CodeOffset<kBits>();  // the same codes as the f32 kernel's
  const bool correct = offset != 0.0f || w.zero_points;
  auto x16 = hwy::AllocateAligned<int16_t>(size_t(n_tokens * K));
  std::vector<int16_t> natural(static_cast<size_t>(kBits == 8 ? 0 : K));  // 8 bits: in place
  std::vector<float> sigma(static_cast<size_t>(n_tokens));
  std::vector<float> group_sums(correct ? size_t(n_tokens * n_groups) : 0);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const int16_t* xt = x16.get() + t * K;
    sigma[size_t(t)] =
        QuantizeActivations16<kBits>(x + t * in, in, chunks, x16.get() + t * K, natural.data());
    for (int64_t g = 0; correct && g < n_groups; ++g) {  // in packed order: whole chunks
      int64_t sum = 0;
      const int64_t k1 = std::min(K, (g + 1) * group_chunks * Chunk16Cols<kBits>());
      for (int64_t k = g * group_chunks * Chunk16Cols<kBits>(); k < k1; ++k) sum += xt[k];
      group_sums[size_t(t * n_groups + g)] = float(sum);
    }
  }
  IntegerMatvecRows(w, n_tokens, correct, offset, group_sums, sigma, bias, y, pool,
                    [&](const uint8_t* row, int64_t r0, int64_t t, const RowScales& rs, auto k,
                        float* sums) HWY_ATTR {
    DotPackedRows16<kBits, decltype(k)::value>(row, row_bytes, chunks, x16.get() + t * K,
                                               group_chunks, rs.scales(r0), n_groups,
                                               rs.stride(), sums);
  });
}

#if HWY_TARGET == HWY_AVX3_DL
// Matrix-vector with 16-bit activations split into bytes (vnni_matvec-inl.h),
// for weights VnniGroupBytes takes: rows 4 at a time as MatvecPacked16. The
// codes are u = q + 2^(b-1) at every width (8 bits: the stored byte). A
// symmetric weight's offset is taken off in the kernel's integer sums
// (VnniOffsetInits, once per token), so its rows need no correction; with
// zero-points the offset and zero-point correction uses each group's sum of
// the rounded activations, per row.
template <int kBits>
void MatvecVnni(const QuantizedMatrixView& w, int64_t group_bytes, const float* x,
                int64_t n_tokens, const float* bias, float* y, ThreadPool& pool) {
  const int64_t in = w.cols, n_groups = w.n_groups(), row_bytes = w.row_words() * 4;
  const VnniGroups G(row_bytes, group_bytes, n_groups);
  const int64_t K = G.chunks * VnniChunkCols<kBits>(), group = w.group_cols();
  const int32_t offset = 1 << (kBits - 1);
  const bool correct = w.zero_points != nullptr;
  auto hi = hwy::AllocateAligned<int8_t>(size_t(n_tokens * K));
  auto lo = hwy::AllocateAligned<int8_t>(size_t(n_tokens * K));
  auto init = hwy::AllocateAligned<int32_t>(size_t(n_tokens * G.chunks * 16));
  std::vector<int16_t> x16(static_cast<size_t>(in));
  std::vector<float> sigma(static_cast<size_t>(n_tokens));
  std::vector<float> group_sums(correct ? size_t(n_tokens * n_groups) : 0);
  for (int64_t t = 0; t < n_tokens; ++t) {
    sigma[size_t(t)] = RoundActivations16(x + t * in, in, x16.data(), true);
    SplitActivations<kBits>(x16.data(), in, G.chunks, hi.get() + t * K, lo.get() + t * K);
    // With zero-points the sums start at 0 (offset 0) and FinishRows takes
    // off the offset and the zero-points.
    VnniOffsetInits<kBits>(hi.get() + t * K, lo.get() + t * K, G, correct ? 0 : offset,
                           init.get() + t * G.chunks * 16);
    for (int64_t g = 0; correct && g < n_groups; ++g) {
      int64_t sum = 0;
      for (int64_t c = g * group; c < std::min(in, (g + 1) * group); ++c) sum += x16[size_t(c)];
      group_sums[size_t(t * n_groups + g)] = float(sum);
    }
  }
  IntegerMatvecRows(w, n_tokens, correct, float(offset), group_sums, sigma, bias, y, pool,
                    [&](const uint8_t* row, int64_t r0, int64_t t, const RowScales& rs, auto k,
                        float* sums) HWY_ATTR {
    DotRowsVnni<kBits, decltype(k)::value>(row, row_bytes, G, hi.get() + t * K, lo.get() + t * K,
                                           init.get() + t * G.chunks * 16,
                                           rs.scales(r0), n_groups, rs.stride(), sums);
  });
}
#endif  // HWY_TARGET == HWY_AVX3_DL

// Matrix-matrix for packed weights: tiles dequantized into f32, reused by all tokens.
template <int kBits>
void GemmPacked(const QuantizedMatrixView& w, const float* x, int64_t n_tokens,
                const float* bias, float* y, ThreadPool& pool) {
  const PackedLayout<kBits> L(w);
  const int64_t in = w.cols;
  const int64_t nt = (n_tokens + kTokenTile - 1) / kTokenTile * kTokenTile;
  const auto xt = TransposeActivations(x, n_tokens, in, L.K, nt, [&](const float* xr, float* o) {
    PermuteToPackedOrder<kBits>(xr, in, L.chunks, o);
  });
  GemmRows(w.rows, in, n_tokens, L.K, xt, bias, y, pool, [&] {
    // Each dequantizer owns its scratch lane. Not `mutable`: gcc and clang
    // disagree on where a lambda's attribute goes relative to it.
    return [&, lane = std::shared_ptr<float[]>(new float[size_t(2 * kDepth)])](
               int64_t r, int64_t k0, int64_t depth, float* dst) HWY_ATTR {
      PackedRowTile<kBits>(w, L, r, k0, depth, lane.get(), dst);
    };
  });
}

// y = x W^T + bias for a quantized weight that has_simd_kernel accepts; x is
// f32 [n_tokens, in].
template <int kBits>
void MatMulPacked(const QuantizedMatrixView& w, const float* x, int64_t n_tokens,
                  const float* bias, float* y, ThreadPool& pool) {
  if (n_tokens >= kGemmMinTokens) return GemmPacked<kBits>(w, x, n_tokens, bias, y, pool);
#if HWY_TARGET == HWY_AVX3_DL
  if (const int64_t group_bytes = VnniGroupBytes<kBits>(w); group_bytes > 0) {
    return MatvecVnni<kBits>(w, group_bytes, x, n_tokens, bias, y, pool);
  }
#endif
  if (Int16Eligible<kBits>(w.n_groups(), w.group_cols())) {
    return MatvecPacked16<kBits>(w, x, n_tokens, bias, y, pool);
  }
  return MatvecPacked<kBits>(w, x, n_tokens, bias, y, pool);
}

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
  return q->bits == 2 || q->bits == 4 || q->bits == 8;
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
