// Per-target SIMD dot products of packed quantized rows with one token's
// activations in packed order (packed_decode-inl.h): the matrix-vector
// kernel, where every weight byte is used once, so decoding must keep up
// with memory. Included by linear_simd.cpp once per Highway target.
//
// Why it is shaped this way:
//  * up to 4 rows at a time share each activation load, and give 4
//    independent multiply-add chains with the decode work between them;
//  * the scale is hoisted out of the inner loop: per group, sum u x (u exact
//    small integers in f32), then one multiply-add by the group's scale into
//    the row's total. A group must then be whole chunks (group_chunks > 0);
//    other group sizes take DotPackedRowLaneScales (a scale per lane);
//  * offsets and zero-points are not touched here: sum_c (q - zp) s x =
//    sum_c u s x - sum_g s_g (offset + zp_g) (sum of x over g), taken off by
//    the caller per row with GroupCorrections and DotF32 (vectorized: with
//    32-column groups a scalar loop would cost as much as the decoding).
#if defined(WQUANT_SRC_KERNELS_QUANTIZED_MATVEC_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WQUANT_SRC_KERNELS_QUANTIZED_MATVEC_INL_H_
#undef WQUANT_SRC_KERNELS_QUANTIZED_MATVEC_INL_H_
#else
#define WQUANT_SRC_KERNELS_QUANTIZED_MATVEC_INL_H_
#endif

#include <algorithm>
#include <cstdint>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "packed_decode-inl.h"

HWY_BEFORE_NAMESPACE();
namespace wquant {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// What DotPackedRows decodes: for 8 bits q itself (sign-extend, xor, convert;
// memory, not decoding, bounds 8-bit), for 4 and 2 bits the unsigned code
// u = q + 2^(b-1) (and, shift, convert: two instructions fewer per vector
// than q, and decoding bounds them on AVX2). Returns the offset u - q.
template <int kBits>
constexpr float CodeOffset() {
  return kBits == 8 ? 0.0f : float(1 << (kBits - 1));
}

template <int kBits>
HWY_INLINE hn::Vec<DI> LoadForDot(const uint8_t* row, int64_t j, int64_t row_bytes) {
  if constexpr (kBits == 8) return LoadChunk<kBits>(row, j, row_bytes);
  return LoadChunkCodes<kBits>(row, j, row_bytes);
}

template <int kBits, int f>
HWY_INLINE VF DotField(hn::Vec<DI> v) {
  if constexpr (kBits == 8) return Field<kBits, f>(v);
  return CodeField<kBits, f>(v);
}

// How far ahead of the loop DotPackedRows asks for weight bytes. Four rows
// are read side by side, so with short rows (576 bytes in SmolLM2) the
// hardware prefetcher sees four short streams and barely starts; a software
// prefetch at this distance, walking the 4-row block linearly, doubled the
// speed over SmolLM2's sequence of layers (8.0 -> 12.8 GB/s on one thread,
// 13 -> 21 GB/s on two). Measured 4.5-6 KiB best, 1-3 KiB too short. A
// prefetch never faults, so running past the end of the matrix is harmless.
constexpr int64_t kPrefetchBytes = 6144;

// Writes to sums[r], r < kRows, the dot product of the codes of packed row r
// (rows at `rows` + r * row_bytes, any alignment) with xp (one token, packed
// order, ChunkCols(chunks) floats), scaled per group:
//   sum_g scales[r * scale_stride + g] * sum_{c in g} u[c] x[c]
// (scale_stride n_groups, or 0 when every row shares one scale),
// where group g is chunks [g * group_chunks, (g + 1) * group_chunks) (the
// last one shorter) and u = q + CodeOffset (above): the caller subtracts
// sum_g scale_g (CodeOffset + zp_g) (sum of x over g). f32 throughout.
template <int kBits, int kRows>
HWY_INLINE void DotPackedRows(const uint8_t* rows, int64_t row_bytes, int64_t chunks,
                              const float* xp, int64_t group_chunks, const float* scales,
                              int64_t n_groups, int64_t scale_stride, float* sums) {
  static_assert(kBits == 2 || kBits == 4 || kBits == 8, "whole fields per byte");
  static_assert(kRows >= 1 && kRows <= 4, "up to 4 rows at a time");
  constexpr int V = 8 / kBits;
  const DF df;
  const int64_t N = ChunkBytes();
  const uint8_t* row0 = rows;
  const uint8_t* row1 = rows + (kRows > 1 ? row_bytes : 0);
  const uint8_t* row2 = rows + (kRows > 2 ? 2 * row_bytes : 0);
  const uint8_t* row3 = rows + (kRows > 3 ? 3 * row_bytes : 0);
  // Per row: the total over the groups so far, and the current group's sum
  // (4 rows: 4 independent multiply-add chains, enough with the decode work
  // between them). No arrays: SVE vectors are sizeless.
  auto t0 = hn::Zero(df), t1 = t0, t2 = t0, t3 = t0;
  auto a0 = t0, a1 = t0, a2 = t0, a3 = t0;
  for (int64_t g = 0, j0 = 0; j0 < chunks; ++g, j0 += group_chunks) {
    const int64_t j1 = std::min(chunks, j0 + group_chunks);
    for (int64_t j = j0; j < j1; ++j) {
      const float* xj = xp + j * N * V;
      if constexpr (kRows == 4) hwy::Prefetch(rows + kPrefetchBytes + j * 4 * N);
      const auto v0 = LoadForDot<kBits>(row0, j, row_bytes);
      const auto v1 = kRows > 1 ? LoadForDot<kBits>(row1, j, row_bytes) : v0;
      const auto v2 = kRows > 2 ? LoadForDot<kBits>(row2, j, row_bytes) : v0;
      const auto v3 = kRows > 3 ? LoadForDot<kBits>(row3, j, row_bytes) : v0;
      ForFields<V>([&](auto field) HWY_ATTR WQUANT_LAMBDA_INLINE {
        constexpr int f = decltype(field)::value;
        const VF x = hn::LoadU(df, xj + f * N);
        a0 = hn::MulAdd(DotField<kBits, f>(v0), x, a0);
        if constexpr (kRows > 1) a1 = hn::MulAdd(DotField<kBits, f>(v1), x, a1);
        if constexpr (kRows > 2) a2 = hn::MulAdd(DotField<kBits, f>(v2), x, a2);
        if constexpr (kRows > 3) a3 = hn::MulAdd(DotField<kBits, f>(v3), x, a3);
      });
    }
    // Group done: total += scale * sum; the sums restart at 0.
    const float* s = scales + std::min(g, n_groups - 1);
    t0 = hn::MulAdd(a0, hn::Set(df, s[0]), t0);
    if constexpr (kRows > 1) t1 = hn::MulAdd(a1, hn::Set(df, s[scale_stride]), t1);
    if constexpr (kRows > 2) t2 = hn::MulAdd(a2, hn::Set(df, s[2 * scale_stride]), t2);
    if constexpr (kRows > 3) t3 = hn::MulAdd(a3, hn::Set(df, s[3 * scale_stride]), t3);
    a0 = a1 = a2 = a3 = hn::Zero(df);
  }
  sums[0] = hn::GetLane(hn::SumOfLanes(df, t0));
  if constexpr (kRows > 1) sums[1] = hn::GetLane(hn::SumOfLanes(df, t1));
  if constexpr (kRows > 2) sums[2] = hn::GetLane(hn::SumOfLanes(df, t2));
  if constexpr (kRows > 3) sums[3] = hn::GetLane(hn::SumOfLanes(df, t3));
}

// Returns the dot product of one packed row with xp (as DotPackedRows) when
// groups are not whole chunks: lane_scales [ChunkCols(chunks)] holds the
// scale of every packed-order position, and each decoded field is multiplied
// by its scales before the multiply-add. Slower; for unusual group sizes.
template <int kBits>
HWY_INLINE float DotPackedRowLaneScales(const uint8_t* row, int64_t row_bytes, int64_t chunks,
                                        const float* xp, const float* lane_scales) {
  constexpr int V = 8 / kBits;
  const DF df;
  const int64_t N = ChunkBytes();
  auto even = hn::Zero(df), odd = even;
  for (int64_t j = 0; j < chunks; ++j) {
    const auto v = LoadChunk<kBits>(row, j, row_bytes);
    ForFields<V>([&](auto field) HWY_ATTR WQUANT_LAMBDA_INLINE {
      constexpr int f = decltype(field)::value;
      const int64_t k = (j * V + f) * N;
      const VF w = hn::Mul(Field<kBits, f>(v), hn::LoadU(df, lane_scales + k));
      auto& sum = (j * V + f) % 2 == 0 ? even : odd;
      sum = hn::MulAdd(w, hn::LoadU(df, xp + k), sum);
    });
  }
  return hn::GetLane(hn::SumOfLanes(df, hn::Add(even, odd)));
}

// Returns sum_i a[i] * b[i] for i < n (f32, two vector chains).
HWY_INLINE float DotF32(const float* a, const float* b, int64_t n) {
  const DF df;
  const int64_t N = int64_t(hn::Lanes(df));
  auto s0 = hn::Zero(df), s1 = s0;
  int64_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    s0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(df, a + i + N), hn::LoadU(df, b + i + N), s1);
  }
  float sum = hn::GetLane(hn::SumOfLanes(df, hn::Add(s0, s1)));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// Writes coef[g] = scales[g] * (offset + zero_points[g]) for g < n (zero_points
// nullptr: 0): a row's correction is then sum_g coef[g] * (sum of x over g).
HWY_INLINE void GroupCorrections(const float* scales, const int8_t* zero_points, float offset,
                                 int64_t n, float* coef) {
  const DF df;
  const hn::Rebind<int8_t, DI> d8;
  const int64_t N = int64_t(hn::Lanes(df));
  int64_t g = 0;
  for (; g + N <= n; g += N) {
    auto o = hn::Set(df, offset);
    if (zero_points) {
      o = hn::Add(o, hn::ConvertTo(df, hn::PromoteTo(DI(), hn::LoadU(d8, zero_points + g))));
    }
    hn::StoreU(hn::Mul(hn::LoadU(df, scales + g), o), df, coef + g);
  }
  for (; g < n; ++g) coef[g] = scales[g] * (offset + (zero_points ? float(zero_points[g]) : 0.0f));
}

}  // namespace HWY_NAMESPACE
}  // namespace wquant
HWY_AFTER_NAMESPACE();

#endif  // WQUANT_SRC_KERNELS_QUANTIZED_MATVEC_INL_H_ toggle
