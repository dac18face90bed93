// Per-target matrix-vector kernel with 16-bit activations split into bytes,
// on x86 CPUs with AVX-512 VNNI (Highway's AVX3_DL target): the decode
// kernel for 2-, 4- and 8-bit weights there. Included by linear_simd.cpp
// once per Highway target; other targets get only kHaveVnniKernel = false.
//
// Why: vpdpbusd multiplies 64 unsigned bytes by 64 signed bytes and adds
// each four products into an int32 lane in one instruction, four times the
// products of int16_matvec-inl.h's vpmaddwd and without its separate add.
// Weights are unsigned bytes already: the codes u = q + 2^(b-1) (8 bits: the
// stored byte itself). The activations are int16_matvec-inl.h's 16-bit
// integers x16 (one power-of-two scale sigma per token), each split into two
// signed bytes,
//
//   x16 = 256 hi + lo,  lo = ((x16 + 128) mod 256) - 128,  hi = (x16 + 128) >> 8,
//
// which fit in a signed byte for x16 in [-32768, 32639]
// (RoundActivations16's byte_split keeps the rounded activations there).
// So sum u x16 = 256 sum u hi + sum u lo, two vpdpbusd per weight vector into
// two int32 sums, combined exactly (hi << 8) + lo when a group ends: the
// same integers as int16_matvec-inl.h's, so the same error bound (linear.h),
// with no rounding added by the split.
//
// The code offset o = 2^(b-1) is taken off in the integers when the weight
// is symmetric: sum (u - o) x16 = sum u x16 - o sum x16, and o sum x16
// depends on the token only. So per token, for every piece (the chunks
// summed in int32 before one conversion, below), VnniOffsetInits writes per
// int32 lane -o times the sum of the x16 of the lane's 4 bytes x V fields
// over the piece's chunks, and the lo sums of every row start there instead
// of at 0: the piece then converts the exact sum q x16, and the caller has
// no per-row correction left (with zero-points it keeps one, linear_simd.cpp).
//
// int32 cannot overflow: a lane adds 4 bytes x V fields per chunk, |u hi|,
// |u lo| <= 255 x 128, so per chunk at most 4 x 255 x 128 < 2^17 (8 bits;
// less for 4 and 2), and a piece of kVnniPieceChunks = 32 chunks gives
// |256 hi| < 2^8 x 2^5 x 2^17 = 2^30. The start of lo is at most
// o x 32 x 4V x 2^15 = 2^29 (8 bits; 2^26 and 2^25 for 4 and 2), so
// |lo| < 2^29 + 2^22; and 256 hi + lo, the exact sum (u - o) x16 = q x16,
// is at most 2^(b-1) x 32 x 4V x 2^15 <= 2^29 (0 start: the sum u x16,
// < 2^30 likewise). Its conversion to f32 rounds once, as before, and no
// f32 correction follows: within linear.h's bound (its offset term o_b is
// then slack).
//
// Layout: a chunk is 64 bytes of a packed row (one vector); field f of byte i
// of chunk j is column (j * 64 + i) * V + f, V = 8 / b (packed_decode-inl.h's
// order with bytes as lanes). int32 lane k of the products covers bytes
// 4k .. 4k + 3, i.e. 4V consecutive columns, so a group of g bytes (g a
// multiple of 4) ends on a lane boundary. Groups of 64 bytes or more (whole
// chunks, per channel, per tensor) are summed chunk after chunk and scaled
// once (a broadcast scale); groups of 4-32 bytes (32-column groups of 4
// bits: 16 bytes) are scaled per lane, chunk by chunk, with a vector of the
// chunk's 64 / g group scales spread over their lanes (one permute).
//
// The instruction comes from inline assembly: Highway 1.0.3 has no op for
// it, and its AVX3_DL target does not enable avx512vnni for the compiler,
// though it runs only on CPUs that have it (hwy::SupportedTargets checks).
#if defined(WQUANT_SRC_KERNELS_VNNI_MATVEC_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WQUANT_SRC_KERNELS_VNNI_MATVEC_INL_H_
#undef WQUANT_SRC_KERNELS_VNNI_MATVEC_INL_H_
#else
#define WQUANT_SRC_KERNELS_VNNI_MATVEC_INL_H_
#endif

#include <algorithm>
#include <cstdint>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "int16_matvec-inl.h"
#include "packed_decode-inl.h"
#include "quantized_matvec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace wquant {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_AVX3_DL
constexpr bool kHaveVnniKernel = true;

using DU8 = hn::Full512<uint8_t>;
using DI8 = hn::Full512<int8_t>;
using DI32V = hn::Full512<int32_t>;
using DF32V = hn::Full512<float>;
using VU8 = hn::Vec<DU8>;
using VI32 = hn::Vec<DI32V>;

// Bytes per chunk, and chunks summed in int32 before a conversion (above).
constexpr int64_t kVnniChunk = 64;
constexpr int64_t kVnniPieceChunks = 32;

// Returns the int32 lanes of acc plus, per lane, the four products of the
// unsigned bytes u with the signed bytes s (vpdpbusd).
HWY_INLINE VI32 DotBytes(VI32 acc, VU8 u, hn::Vec<DI8> s) {
  __m512i a = acc.raw;
  asm("vpdpbusd %2, %1, %0" : "+v"(a) : "v"(u.raw), "v"(s.raw));
  return VI32{a};
}

// Returns the bytes of the columns per chunk: 64 x 8 / b columns.
template <int kBits>
constexpr int64_t VnniChunkCols() {
  return kVnniChunk * (8 / kBits);
}

// Returns the group's bytes if the kernel takes the weight (groups that are
// whole chunks or divide one into whole int32 lanes; one group per row),
// else 0.
template <int kBits>
inline int64_t VnniGroupBytes(const QuantizedMatrixView& w) {
  if (w.n_groups() == 1) return w.row_words() * 4;  // the whole row
  if (w.group_cols() * kBits % 8 != 0) return 0;
  const int64_t g = w.group_cols() * kBits / 8;
  return g % kVnniChunk == 0 || (g % 4 == 0 && kVnniChunk % g == 0) ? g : 0;
}

// Splits one token's 16-bit activations x16 [in] (column order) into the
// signed bytes hi, lo [chunks * VnniChunkCols] (above), in packed order:
// field f of byte i of chunk j at (j * V + f) * 64 + i; 0 past column in.
template <int kBits>
inline void SplitActivations(const int16_t* x16, int64_t in, int64_t chunks, int8_t* hi,
                             int8_t* lo) {
  constexpr int64_t V = 8 / kBits;
  std::fill(hi, hi + chunks * VnniChunkCols<kBits>(), int8_t(0));
  std::fill(lo, lo + chunks * VnniChunkCols<kBits>(), int8_t(0));
  for (int64_t c = 0; c < in; ++c) {
    const int64_t j = c / VnniChunkCols<kBits>(), r = c % VnniChunkCols<kBits>();
    const int64_t k = (j * V + r % V) * kVnniChunk + r / V;
    const int32_t v = int32_t(x16[c]) + 128;  // <= 32767: RoundActivations16's byte_split
    lo[k] = int8_t((v & 255) - 128);
    hi[k] = int8_t(v >> 8);
  }
}

// Returns chunk j of a packed row (row_bytes bytes, a multiple of 4, any
// alignment); bytes past the row are 0 and are not read: AVX-512's masked
// load, which does not fault on the masked-off bytes (a copy through a
// stack buffer cost SmolLM2's 576-column rows, whose last chunk is partial,
// a store-forwarding stall per row).
HWY_INLINE VU8 LoadVnniChunk(const uint8_t* row, int64_t j, int64_t row_bytes) {
  const DU8 du8;
  const int64_t b0 = j * kVnniChunk;
  if (HWY_LIKELY(b0 + kVnniChunk <= row_bytes)) return hn::LoadU(du8, row + b0);
  return hn::MaskedLoad(hn::FirstN(du8, size_t(row_bytes - b0)), du8, row + b0);
}

// Returns the codes u of field f of every byte of v.
template <int kBits, int f>
HWY_INLINE VU8 VnniField(VU8 v) {
  const DU8 du8;
  if constexpr (kBits == 8) {
    return v;
  } else {
    const hn::Repartition<uint16_t, DU8> du16;  // 16-bit shifts; the and drops the spill
    const VU8 mask = hn::Set(du8, uint8_t((1 << kBits) - 1));
    if constexpr (f == 0) return hn::And(v, mask);
    return hn::And(hn::BitCast(du8, hn::ShiftRight<f * kBits>(hn::BitCast(du16, v))), mask);
  }
}

// How the kernel walks a weight's groups (VnniGroupBytes > 0).
struct VnniGroups {
  int64_t chunks;        // chunks per row
  int64_t group_chunks;  // > 0: chunks per group (groups of whole chunks)
  int64_t lane_group;    // else: int32 lanes per group (1, 2, 4 or 8)
  // group_bytes: VnniGroupBytes; one group per row when n_groups is 1.
  VnniGroups(int64_t row_bytes, int64_t group_bytes, int64_t n_groups)
      : chunks((row_bytes + kVnniChunk - 1) / kVnniChunk),
        group_chunks(n_groups == 1 ? chunks : group_bytes >= kVnniChunk ? group_bytes / kVnniChunk : 0),
        lane_group(group_bytes / 4) {}
  // Returns the first chunk of chunk j's piece: the chunks the kernel sums
  // in int32 before one conversion (up to kVnniPieceChunks of one group;
  // one chunk when groups are one chunk or smaller).
  int64_t piece_start(int64_t j) const {
    return group_chunks > 1 ? j - j % group_chunks % kVnniPieceChunks : j;
  }
};

// Writes to init [G.chunks * 16], for every chunk j that starts a piece
// (G.piece_start(j) == j), the int32 lanes that DotRowsVnni's lo sums start
// the piece with: lane k is -offset times the sum, over the piece's chunks,
// of the x16 = 256 hi + lo of bytes 4k .. 4k + 3 of every field (above).
// The lane sums are the kernel's own byte dot products with codes of 1.
// Entries of other chunks are not written.
template <int kBits>
HWY_INLINE void VnniOffsetInits(const int8_t* hi, const int8_t* lo, const VnniGroups& G,
                                int32_t offset, int32_t* init) {
  if (offset == 0) {  // nothing to take off (weights with zero-points): start at 0
    std::fill(init, init + G.chunks * 16, 0);
    return;
  }
  constexpr int V = 8 / kBits;
  const DI8 di8;
  const DI32V d32;
  const VU8 ones = hn::Set(DU8(), uint8_t(1));
  auto h = hn::Zero(d32), l = h;
  for (int64_t j = 0; j < G.chunks; ++j) {
    for (int f = 0; f < V; ++f) {
      const int64_t k = (j * V + f) * kVnniChunk;
      h = DotBytes(h, ones, hn::Load(di8, hi + k));
      l = DotBytes(l, ones, hn::Load(di8, lo + k));
    }
    if (j + 1 == G.chunks || G.piece_start(j + 1) == j + 1) {  // the piece ends
      const auto x16 = hn::Add(hn::ShiftLeft<8>(h), l);
      hn::Store(hn::Mul(x16, hn::Set(d32, -offset)), d32, init + G.piece_start(j) * 16);
      h = l = hn::Zero(d32);
    }
  }
}

// Writes to sums[r], r < kRows, the dot product of the codes of packed row r
// (rows at `rows` + r * row_bytes) with one token's split activations (hi,
// lo: SplitActivations), in f32, without sigma:
//   sum_g scales[r * scale_stride + g] * sum_{c in g} (u_c - o) x16_c,
// where o is the offset VnniOffsetInits wrote `init` with (0 for a weight
// with zero-points: its caller takes off the offset and zero-points).
// scales must be readable 16 floats past the last row's last group (the
// lanes of a chunk's scale vector may run past a row's groups; they meet
// zero products, and on the last chunk are zeroed).
template <int kBits, int kRows>
HWY_INLINE void DotRowsVnni(const uint8_t* rows, int64_t row_bytes, const VnniGroups& G,
                            const int8_t* hi, const int8_t* lo, const int32_t* init,
                            const float* scales, int64_t n_groups, int64_t scale_stride,
                            float* sums) {
  static_assert(kBits == 2 || kBits == 4 || kBits == 8, "whole fields per byte");
  static_assert(kRows >= 1 && kRows <= 4, "up to 4 rows at a time");
  constexpr int V = 8 / kBits;
  const DI8 di8;
  const DI32V d32;
  const DF32V df;
  const uint8_t* row0 = rows;
  const uint8_t* row1 = rows + (kRows > 1 ? row_bytes : 0);
  const uint8_t* row2 = rows + (kRows > 2 ? 2 * row_bytes : 0);
  const uint8_t* row3 = rows + (kRows > 3 ? 3 * row_bytes : 0);
  auto t0 = hn::Zero(df), t1 = t0, t2 = t0, t3 = t0;           // f32 totals
  auto h0 = hn::Zero(d32), h1 = h0, h2 = h0, h3 = h0;           // sums of u hi
  auto l0 = hn::Zero(d32), l1 = l0, l2 = l0, l3 = l0;           // sums of u lo
  // Starts the sums of the piece that begins at chunk j (init: above).
  const auto start = [&](int64_t j) HWY_ATTR WQUANT_LAMBDA_INLINE {
    h0 = h1 = h2 = h3 = hn::Zero(d32);
    l0 = l1 = l2 = l3 = hn::Load(d32, init + j * 16);
  };
  const auto add_chunk = [&](int64_t j) HWY_ATTR WQUANT_LAMBDA_INLINE {
    if constexpr (kRows == 4) {
      const uint8_t* p = rows + kPrefetchBytes + j * 4 * kVnniChunk;
      hwy::Prefetch(p), hwy::Prefetch(p + 64), hwy::Prefetch(p + 128), hwy::Prefetch(p + 192);
    }
    const VU8 v0 = LoadVnniChunk(row0, j, row_bytes);
    const VU8 v1 = kRows > 1 ? LoadVnniChunk(row1, j, row_bytes) : v0;
    const VU8 v2 = kRows > 2 ? LoadVnniChunk(row2, j, row_bytes) : v0;
    const VU8 v3 = kRows > 3 ? LoadVnniChunk(row3, j, row_bytes) : v0;
    ForFields<V>([&](auto field) HWY_ATTR WQUANT_LAMBDA_INLINE {
      constexpr int f = decltype(field)::value;
      const int64_t k = (j * V + f) * kVnniChunk;
      const auto xh = hn::Load(di8, hi + k), xl = hn::Load(di8, lo + k);
      const VU8 u0 = VnniField<kBits, f>(v0);
      h0 = DotBytes(h0, u0, xh), l0 = DotBytes(l0, u0, xl);
      if constexpr (kRows > 1) {
        const VU8 u1 = VnniField<kBits, f>(v1);
        h1 = DotBytes(h1, u1, xh), l1 = DotBytes(l1, u1, xl);
      }
      if constexpr (kRows > 2) {
        const VU8 u2 = VnniField<kBits, f>(v2);
        h2 = DotBytes(h2, u2, xh), l2 = DotBytes(l2, u2, xl);
      }
      if constexpr (kRows > 3) {
        const VU8 u3 = VnniField<kBits, f>(v3);
        h3 = DotBytes(h3, u3, xh), l3 = DotBytes(l3, u3, xl);
      }
    });
  };
  // Adds (256 hi + lo) converted, times the scale vectors s_r (row r's), to
  // the totals.
  const auto flush = [&](auto s_of) HWY_ATTR WQUANT_LAMBDA_INLINE {
    const auto combine = [&](VI32 h, VI32 l) HWY_ATTR {
      return hn::ConvertTo(df, hn::Add(hn::ShiftLeft<8>(h), l));
    };
    t0 = hn::MulAdd(combine(h0, l0), s_of(0), t0);
    if constexpr (kRows > 1) t1 = hn::MulAdd(combine(h1, l1), s_of(1), t1);
    if constexpr (kRows > 2) t2 = hn::MulAdd(combine(h2, l2), s_of(2), t2);
    if constexpr (kRows > 3) t3 = hn::MulAdd(combine(h3, l3), s_of(3), t3);
  };
  if (G.group_chunks == 1) {
    // One chunk per group (128-column groups of 4 bits): one flat loop.
    for (int64_t j = 0; j < G.chunks; ++j) {
      start(j);
      add_chunk(j);
      const float* s = scales + std::min(j, n_groups - 1);
      flush([&](int r) HWY_ATTR { return hn::Set(df, s[r * scale_stride]); });
    }
  } else if (G.group_chunks > 1) {
    for (int64_t g = 0, j0 = 0; j0 < G.chunks; ++g, j0 += G.group_chunks) {
      const float* s = scales + std::min(g, n_groups - 1);
      const int64_t j1 = std::min(G.chunks, j0 + G.group_chunks);
      for (int64_t p0 = j0; p0 < j1; p0 += kVnniPieceChunks) {
        start(p0);
        for (int64_t j = p0; j < std::min(j1, p0 + kVnniPieceChunks); ++j) add_chunk(j);
        flush([&](int r) HWY_ATTR { return hn::Set(df, s[r * scale_stride]); });
      }
    }
  } else {
    // Lane k of chunk j belongs to group j * 16 / lane_group + k / lane_group.
    HWY_ALIGN int32_t index[16];
    for (int k = 0; k < 16; ++k) index[k] = int32_t(k / G.lane_group);
    const auto spread = hn::SetTableIndices(df, index);
    const int64_t per_chunk = 16 / G.lane_group;
    const int64_t last_lanes = (row_bytes - (G.chunks - 1) * kVnniChunk) / 4;
    for (int64_t j = 0; j < G.chunks; ++j) {
      start(j);
      add_chunk(j);
      const float* s = scales + j * per_chunk;
      const auto mask = hn::FirstN(df, size_t(j + 1 < G.chunks ? 16 : last_lanes));
      flush([&](int r) HWY_ATTR {
        return hn::IfThenElseZero(mask, hn::TableLookupLanes(hn::LoadU(df, s + r * scale_stride),
                                                             spread));
      });
    }
  }
  sums[0] = hn::GetLane(hn::SumOfLanes(df, t0));
  if constexpr (kRows > 1) sums[1] = hn::GetLane(hn::SumOfLanes(df, t1));
  if constexpr (kRows > 2) sums[2] = hn::GetLane(hn::SumOfLanes(df, t2));
  if constexpr (kRows > 3) sums[3] = hn::GetLane(hn::SumOfLanes(df, t3));
}

#else
constexpr bool kHaveVnniKernel = false;
#endif  // HWY_TARGET == HWY_AVX3_DL

}  // namespace HWY_NAMESPACE
}  // namespace wquant
HWY_AFTER_NAMESPACE();

#endif  // WQUANT_SRC_KERNELS_VNNI_MATVEC_INL_H_ toggle
