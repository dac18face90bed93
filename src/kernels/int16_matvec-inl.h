// Per-target SIMD matrix-vector kernel with 16-bit integer activations: the
// decode kernel for 2-, 4- and 8-bit weights whose groups are whole
// activation blocks. Included by linear_simd.cpp once per Highway target.
//
// Why: with f32 activations every weight must become an f32 lane before its
// multiply-add (quantized_matvec-inl.h: 7 instructions per 16 4-bit weights),
// which bounds 4-bit decoding at about half the memory bandwidth. Here each
// token's activations are rounded once per call to 16-bit integers with one
// power-of-two scale (so that scaling is exact):
//
//   sigma = 2^(k - 15) for max_c |x_c| = f 2^k, f in [0.5, 1),
//   x16_c = round(x_c / sigma), clamped to [-32768, 32767],
//
// so |x_c - x16_c sigma| <= sigma <= max_c |x_c| / 2^14 (half that unless
// the clamp bites; 2^-14 of the largest activation is still finer than
// bf16's 2^-9 relative step for every value within 2^5 of the largest).
// Weights are widened from bytes to int16 lanes and multiplied into x16 with
// a pairwise multiply-add to int32 (vpmaddwd): per 32 4-bit weights 1
// widening load, 1 and, 1 shift, 2 multiply-adds and 2 adds, half the f32
// kernel's work. The int32 sums are exact (a lane adds at most kSumChunks
// chunks' pairs: 128 x 2 x 128 x 32767 < 2^31); they are converted to f32
// once per weight group (or kSumChunks chunks) and scaled by the group's
// scale, and the row's total by sigma. The kernel is then exact on x16 sigma
// up to f32 rounding: against the f32 reference it adds at most
// sum_c |s| |q - zp| sigma (linear.h).
//
// Codes: 8-bit weights decode q itself (sign-extend, xor: no offset term);
// 4- and 2-bit decode the unsigned code u = q + 2^(b-1) and the caller takes
// off sum_g s_g (2^(b-1) + zp_g) sigma (sum of x16 over g), from the same
// rounded activations, so the offset does not magnify their error.
#if defined(WQUANT_SRC_KERNELS_INT16_MATVEC_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WQUANT_SRC_KERNELS_INT16_MATVEC_INL_H_
#undef WQUANT_SRC_KERNELS_INT16_MATVEC_INL_H_
#else
#define WQUANT_SRC_KERNELS_INT16_MATVEC_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "packed_decode-inl.h"
#include "quantized_matvec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace wquant {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D16 = hn::ScalableTag<int16_t>;
using D32 = hn::Repartition<int32_t, D16>;
using V16 = hn::Vec<D16>;

// Returns the weight bytes per chunk: one byte per int16 lane.
HWY_INLINE int64_t Chunk16Bytes() { return int64_t(hn::Lanes(D16())); }

// Returns the columns of one chunk of b-bit weights.
template <int kBits>
HWY_INLINE int64_t Chunk16Cols() {
  return Chunk16Bytes() * (8 / kBits);
}

// Returns true if the kernel takes a weight whose groups have group_cols
// columns (n_groups of them per row): groups must be whole chunks.
template <int kBits>
HWY_INLINE bool Int16Eligible(int64_t n_groups, int64_t group_cols) {
  return n_groups == 1 || group_cols % Chunk16Cols<kBits>() == 0;
}

// The most chunks whose products one int32 lane sums before conversion.
constexpr int64_t kSumChunks = 128;

// A token whose largest |x| is below this is taken as 0 (1 / sigma would
// overflow); a token holding inf or NaN gets sigma NaN, so that its outputs
// are NaN, as in f32.
constexpr float kTinyActivation = 1e-30f;

// Rounds x [in] to 16-bit integers (above) in column order, to out [in],
// and returns sigma. With byte_split, every integer is at most 32639, so
// that it splits into two signed bytes (vnni_matvec-inl.h): where the
// largest |x| would round past that (max |x| / sigma >= 32639.5, a token
// whose largest value lies within 0.4% below a power of two) sigma doubles,
// which keeps |x - x16 sigma| <= 2^(k - 15) (linear.h's bound) instead of
// half that.
inline float RoundActivations16(const float* x, int64_t in, int16_t* out, bool byte_split) {
  const DF df;
  const hn::Rebind<int16_t, DF> d16h;  // int16 lanes, as many as f32 lanes
  const int64_t NF = int64_t(hn::Lanes(df));
  // Largest |x|; x * 0 is 0 unless x is inf or NaN.
  auto vmax = hn::Zero(df), vnan = vmax;
  int64_t c = 0;
  for (; c + NF <= in; c += NF) {
    const VF v = hn::LoadU(df, x + c);
    vmax = hn::Max(vmax, hn::Abs(v));
    vnan = hn::MulAdd(v, hn::Zero(df), vnan);
  }
  float m = hn::GetLane(hn::MaxOfLanes(df, vmax));
  bool finite = hn::GetLane(hn::SumOfLanes(df, vnan)) == 0.0f;
  for (; c < in; ++c) {
    m = std::max(m, std::fabs(x[c]));
    finite = finite && std::isfinite(x[c]);
  }
  const bool zero = !finite || m < kTinyActivation;
  int k = 0;
  std::frexp(m, &k);
  if (byte_split && !zero && std::ldexp(m, 15 - k) >= 32639.5f) ++k;  // exact: a power of two
  const float inv = zero ? 0.0f : std::ldexp(1.0f, 15 - k);  // 1 / sigma, exact
  // Saturating: only a value that rounds up to 32768 is clamped, by one unit.
  const VF vinv = hn::Set(df, inv);
  for (c = 0; c + NF <= in; c += NF) {
    hn::StoreU(hn::DemoteTo(d16h, hn::NearestInt(hn::Mul(hn::LoadU(df, x + c), vinv))), d16h,
               out + c);
  }
  for (; c < in; ++c) {
    out[c] = int16_t(std::clamp(std::nearbyint(x[c] * inv), -32768.0f, 32767.0f));
  }
  return !finite ? std::numeric_limits<float>::quiet_NaN() : zero ? 0.0f : std::ldexp(1.0f, k - 15);
}

// Rounds x [in] to 16-bit integers (RoundActivations16) and writes them in
// packed order with Chunk16Bytes() lanes (packed_decode-inl.h: field f of
// lane i of chunk j is column (j * N + i) * V + f) to x16 [chunks *
// Chunk16Cols], 0 past column in; natural [chunks * Chunk16Cols] is
// scratch. Returns sigma.
template <int kBits>
inline float QuantizeActivations16(const float* x, int64_t in, int64_t chunks, int16_t* x16,
                                   int16_t* natural) {
  constexpr int64_t V = 8 / kBits;
  const int64_t N = Chunk16Bytes(), cols = chunks * N * V;
  int16_t* out = V == 1 ? x16 : natural;
  const float sigma = RoundActivations16(x, in, out, false);
  std::fill(out + in, out + cols, int16_t(0));
  if constexpr (V > 1) {
    for (int64_t j = 0; j < chunks; ++j) {
      for (int64_t f = 0; f < V; ++f) {
        for (int64_t i = 0; i < N; ++i) x16[(j * V + f) * N + i] = natural[(j * N + i) * V + f];
      }
    }
  }
  return sigma;
}

// Returns chunk j of a packed row (row_bytes bytes, any alignment) as one
// byte per int16 lane: for 8 bits q (sign-extended, xor-ed as in
// LoadChunk), else the byte zero-extended (its fields are unsigned codes).
// Bytes past the row are 0 and are not read.
template <int kBits>
HWY_INLINE V16 WidenChunk16(const uint8_t* p) {
  const D16 d16;
  if constexpr (kBits == 8) {
    const hn::Rebind<int8_t, D16> d8;
    const V16 v = hn::PromoteTo(d16, hn::LoadU(d8, reinterpret_cast<const int8_t*>(p)));
    return hn::Xor(v, hn::Set(d16, int16_t(-128)));  // 0xFF80: u ^ 0x80, sign-extended = q
  } else {
    const hn::Rebind<uint8_t, D16> du8;
    return hn::PromoteTo(d16, hn::LoadU(du8, p));
  }
}

template <int kBits>
HWY_INLINE V16 LoadChunk16(const uint8_t* row, int64_t j, int64_t row_bytes) {
  const int64_t N = Chunk16Bytes(), b0 = j * N;
  if (HWY_LIKELY(b0 + N <= row_bytes)) return WidenChunk16<kBits>(row + b0);
  HWY_ALIGN uint8_t tail[HWY_MAX_BYTES / 2] = {};
  std::memcpy(tail, row + b0, size_t(row_bytes - b0));
  return WidenChunk16<kBits>(tail);
}

// Returns field f of every lane of LoadChunk16's v: q for 8 bits, else the
// unsigned code u of field f.
template <int kBits, int f>
HWY_INLINE V16 Field16(V16 v) {
  if constexpr (kBits == 8) {
    return v;
  } else if constexpr (f == 8 / kBits - 1) {
    return hn::ShiftRight<8 - kBits>(v);
  } else {
    return hn::And(hn::ShiftRight<f * kBits>(v), hn::Set(D16(), int16_t((1 << kBits) - 1)));
  }
}

// Returns sum + the pairwise products a * b summed into int32 lanes
// (vpmaddwd on x86). ReorderWidenMulAccumulate may put half of them in a
// second sum (Arm); here it starts at 0 and is added back at once (on x86 it
// stays 0 and the add folds away).
HWY_INLINE hn::Vec<D32> MulAddPairs(V16 a, V16 b, hn::Vec<D32> sum) {
  const D32 d32;
  auto second = hn::Zero(d32);
  sum = hn::ReorderWidenMulAccumulate(d32, a, b, sum, second);
  return hn::Add(sum, second);
}

// Writes to sums[r], r < kRows, the dot product of the decoded codes of
// packed row r (rows at `rows` + r * row_bytes) with one token's x16
// (QuantizeActivations16), in f32, without sigma:
//   sum_g scales[r * scale_stride + g] * sum_{c in g} code_c x16_c,
// group g = chunks [g * group_chunks, (g + 1) * group_chunks) (the last one
// may be shorter).
template <int kBits, int kRows>
HWY_INLINE void DotPackedRows16(const uint8_t* rows, int64_t row_bytes, int64_t chunks,
                                const int16_t* x16, int64_t group_chunks, const float* scales,
                                int64_t n_groups, int64_t scale_stride, float* sums) {
  static_assert(kBits == 2 || kBits == 4 || kBits == 8, "whole fields per byte");
  static_assert(kRows >= 1 && kRows <= 4, "up to 4 rows at a time");
  constexpr int V = 8 / kBits;
  const D16 d16;
  const D32 d32;
  const hn::Rebind<float, D32> df;
  const int64_t N = Chunk16Bytes();
  const uint8_t* row0 = rows;
  const uint8_t* row1 = rows + (kRows > 1 ? row_bytes : 0);
  const uint8_t* row2 = rows + (kRows > 2 ? 2 * row_bytes : 0);
  const uint8_t* row3 = rows + (kRows > 3 ? 3 * row_bytes : 0);
  // Per row: the f32 total, and the int32 sums of the current piece. No
  // arrays: SVE vectors are sizeless.
  auto t0 = hn::Zero(df), t1 = t0, t2 = t0, t3 = t0;
  auto s0 = hn::Zero(d32), s1 = s0, s2 = s0, s3 = s0;
  // Adds chunk j's products to the int32 sums.
  const auto add_chunk = [&](int64_t j) HWY_ATTR WQUANT_LAMBDA_INLINE {
    if constexpr (kRows == 4) hwy::Prefetch(rows + kPrefetchBytes + j * 4 * N);
    const V16 v0 = LoadChunk16<kBits>(row0, j, row_bytes);
    const V16 v1 = kRows > 1 ? LoadChunk16<kBits>(row1, j, row_bytes) : v0;
    const V16 v2 = kRows > 2 ? LoadChunk16<kBits>(row2, j, row_bytes) : v0;
    const V16 v3 = kRows > 3 ? LoadChunk16<kBits>(row3, j, row_bytes) : v0;
    const int16_t* xj = x16 + j * N * V;
    ForFields<V>([&](auto field) HWY_ATTR WQUANT_LAMBDA_INLINE {
      constexpr int f = decltype(field)::value;
      const V16 x = hn::Load(d16, xj + f * N);
      s0 = MulAddPairs(Field16<kBits, f>(v0), x, s0);
      if constexpr (kRows > 1) s1 = MulAddPairs(Field16<kBits, f>(v1), x, s1);
      if constexpr (kRows > 2) s2 = MulAddPairs(Field16<kBits, f>(v2), x, s2);
      if constexpr (kRows > 3) s3 = MulAddPairs(Field16<kBits, f>(v3), x, s3);
    });
  };
  // Converts the int32 sums, adds them times the group's scales (row r's at
  // s[r * scale_stride]) to the totals, and restarts them at 0.
  const auto flush = [&](const float* s) HWY_ATTR WQUANT_LAMBDA_INLINE {
    t0 = hn::MulAdd(hn::ConvertTo(df, s0), hn::Set(df, s[0]), t0);
    if constexpr (kRows > 1) t1 = hn::MulAdd(hn::ConvertTo(df, s1), hn::Set(df, s[scale_stride]), t1);
    if constexpr (kRows > 2) t2 = hn::MulAdd(hn::ConvertTo(df, s2), hn::Set(df, s[2 * scale_stride]), t2);
    if constexpr (kRows > 3) t3 = hn::MulAdd(hn::ConvertTo(df, s3), hn::Set(df, s[3 * scale_stride]), t3);
    s0 = s1 = s2 = s3 = hn::Zero(d32);
  };
  if (group_chunks == 1) {
    // One chunk per group (32-column groups of 4 bits on AVX2): one flat
    // loop, each chunk's sums scaled at once.
    for (int64_t j = 0; j < chunks; ++j) {
      add_chunk(j);
      flush(scales + std::min(j, n_groups - 1));
    }
  } else {
    for (int64_t g = 0, j0 = 0; j0 < chunks; ++g, j0 += group_chunks) {
      const float* s = scales + std::min(g, n_groups - 1);
      const int64_t j1 = std::min(chunks, j0 + group_chunks);
      for (int64_t p0 = j0; p0 < j1; p0 += kSumChunks) {  // pieces of at most kSumChunks
        for (int64_t j = p0; j < std::min(j1, p0 + kSumChunks); ++j) add_chunk(j);
        flush(s);
      }
    }
  }
  sums[0] = hn::GetLane(hn::SumOfLanes(df, t0));
  if constexpr (kRows > 1) sums[1] = hn::GetLane(hn::SumOfLanes(df, t1));
  if constexpr (kRows > 2) sums[2] = hn::GetLane(hn::SumOfLanes(df, t2));
  if constexpr (kRows > 3) sums[3] = hn::GetLane(hn::SumOfLanes(df, t3));
}

}  // namespace HWY_NAMESPACE
}  // namespace wquant
HWY_AFTER_NAMESPACE();

#endif  // WQUANT_SRC_KERNELS_INT16_MATVEC_INL_H_ toggle
