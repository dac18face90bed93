// Per-target SIMD decoding of packed quantized rows, shared by the matrix-
// vector kernel (quantized_matvec-inl.h) and the matrix-matrix one
// (gemm-inl.h). Included by linear_simd.cpp once per Highway target.
//
// Chunks. A packed row (weight_matrix.h) is read N bytes at a time, N =
// Lanes(int32 vector) (4 on SSE4, 8 on AVX2, 16 on AVX3): a chunk. Each byte
// is widened to one int32 lane (one vpmovsxbd on AVX2, no shuffles), so lane
// i holds byte i of the chunk, which carries V = 8 / b values: value f of
// byte i is column c0 + i*V + f, c0 = the chunk's first column (chunk j:
// c0 = j * N * V). Field f of every lane makes one vector of N values, so a
// chunk decodes to V vectors (1 for 8-bit, 2 for 4-bit, 4 for 2-bit).
//
// The packed order. The activations are permuted once per call (x is shared
// by every row) into the order the fields come out in:
//
//   xp[c0 + f*N + i] = x[c0 + i*V + f]      (0 past the last column)
//
// so field f of a chunk multiplies the N contiguous floats at xp[c0 + f*N].
// A sum over all columns may run in this order, so the kernels never shuffle
// weights. Every b-bit field is signed-decoded exactly: the byte is
// sign-extended and xor-ed with the top bit of every field (0x80, 0x88,
// 0xAA, extended with ones): a field u becomes u ^ 2^(b-1), which read as a
// b-bit two's complement number is q = u - 2^(b-1), and for the top field the
// sign extension of the byte is that of q. Field f is then
//   q_f = (v << (32 - (f+1)*b)) >> (32 - b)     (arithmetic shift)
// with the shifts immediate (fields unrolled), the top one a single shift.
// The zero bits that pad a row's last word decode to -2^(b-1) but meet
// activations of 0. LoadChunkCodes / CodeField decode the unsigned codes u
// instead (zero-extend; per field one shift and one and), two instructions
// fewer per vector, for kernels that take the offset off afterwards.

// On the kernels' per-chunk lambdas, after HWY_ATTR: inline it into its
// caller. gcc 12 at -O3 left the 2-bit kernels' per-chunk lambdas out of line
// (four fields make them large), so every chunk stored and reloaded the row
// sums through memory: 2-bit decoding ran at half the weights per second of
// 4-bit (perf: 44-45% of cycles in the lambda's own frame, DotRowsVnni<2> and
// DotPackedRows16<2>).
#ifndef WQUANT_LAMBDA_INLINE
#define WQUANT_LAMBDA_INLINE __attribute__((always_inline))
#endif

#if defined(WQUANT_SRC_KERNELS_PACKED_DECODE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WQUANT_SRC_KERNELS_PACKED_DECODE_INL_H_
#undef WQUANT_SRC_KERNELS_PACKED_DECODE_INL_H_
#else
#define WQUANT_SRC_KERNELS_PACKED_DECODE_INL_H_
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "hwy/highway.h"
#include "wquant/kernels/weight_matrix.h"

HWY_BEFORE_NAMESPACE();
namespace wquant {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;

// Returns the bytes per chunk (= lanes of an f32 vector).
HWY_INLINE int64_t ChunkBytes() { return int64_t(hn::Lanes(DF())); }

// Returns the columns covered by `chunks` chunks of b-bit values.
template <int kBits>
HWY_INLINE int64_t ChunkCols(int64_t chunks) {
  return chunks * ChunkBytes() * (8 / kBits);
}

// Returns the number of chunks of a packed row of row_bytes bytes.
HWY_INLINE int64_t ChunksPerRow(int64_t row_bytes) {
  return (row_bytes + ChunkBytes() - 1) / ChunkBytes();
}

// Writes x [in] in packed order (above) to xp [ChunkCols(chunks)].
template <int kBits>
inline void PermuteToPackedOrder(const float* x, int64_t in, int64_t chunks, float* xp) {
  constexpr int64_t V = 8 / kBits;
  const int64_t N = ChunkBytes();
  for (int64_t j = 0; j < chunks; ++j) {
    for (int64_t f = 0; f < V; ++f) {
      for (int64_t i = 0; i < N; ++i) {
        const int64_t c = (j * N + i) * V + f;
        xp[(j * V + f) * N + i] = c < in ? x[c] : 0.0f;
      }
    }
  }
}

// Returns the column of packed-order index k (the inverse of the permutation).
template <int kBits>
HWY_INLINE int64_t PackedOrderColumn(int64_t k) {
  constexpr int64_t V = 8 / kBits;
  const int64_t N = ChunkBytes();
  const int64_t chunk = k / (N * V), f = (k / N) % V, i = k % N;
  return (chunk * N + i) * V + f;
}

// Returns an int32 with bits 7.. set and the top bit of every kBits field of
// the low byte: xor-ing a sign-extended byte with it turns codes into q.
template <int kBits>
constexpr int32_t FieldSignFlip() {
  uint32_t m = 0xFFFFFF00u;
  for (int i = 0; i < 8; i += kBits) m |= 1u << (i + kBits - 1);
  return int32_t(m);
}

// Returns chunk j of a packed row (row_bytes bytes, any alignment) with each
// byte sign-extended to an int32 lane and xor-ed with FieldSignFlip. Bytes
// past the row are 0 and are not read.
template <int kBits>
HWY_INLINE hn::Vec<DI> LoadChunk(const uint8_t* row, int64_t j, int64_t row_bytes) {
  const DI di;
  const hn::Rebind<int8_t, DI> d8;
  const int64_t N = ChunkBytes(), b0 = j * N;
  const auto flip = hn::Set(di, FieldSignFlip<kBits>());
  if (HWY_LIKELY(b0 + N <= row_bytes)) {
    return hn::Xor(hn::PromoteTo(di, hn::LoadU(d8, reinterpret_cast<const int8_t*>(row + b0))),
                   flip);
  }
  HWY_ALIGN int8_t tail[HWY_MAX_BYTES / 4] = {};
  std::memcpy(tail, row + b0, size_t(row_bytes - b0));
  return hn::Xor(hn::PromoteTo(di, hn::Load(d8, tail)), flip);
}

// Returns chunk j of a packed row (as LoadChunk) with each byte zero-extended:
// the unsigned codes u = q + 2^(b-1), two instructions fewer to decode.
template <int kBits>
HWY_INLINE hn::Vec<DI> LoadChunkCodes(const uint8_t* row, int64_t j, int64_t row_bytes) {
  const DI di;
  const hn::Rebind<uint8_t, DI> d8;
  const int64_t N = ChunkBytes(), b0 = j * N;
  if (HWY_LIKELY(b0 + N <= row_bytes)) return hn::PromoteTo(di, hn::LoadU(d8, row + b0));
  HWY_ALIGN uint8_t tail[HWY_MAX_BYTES / 4] = {};
  std::memcpy(tail, row + b0, size_t(row_bytes - b0));
  return hn::PromoteTo(di, hn::Load(d8, tail));
}

// Returns field f of every lane of LoadChunkCodes' v as f32: the code u.
template <int kBits, int f>
HWY_INLINE VF CodeField(hn::Vec<DI> v) {
  const DF df;
  const DI di;
  if constexpr (f == 8 / kBits - 1) {
    return hn::ConvertTo(df, hn::ShiftRight<8 - kBits>(v));
  } else {
    return hn::ConvertTo(df, hn::And(hn::ShiftRight<f * kBits>(v), hn::Set(di, (1 << kBits) - 1)));
  }
}

// Returns field f (0 = lowest bits) of every lane of v as f32: q exactly.
template <int kBits, int f>
HWY_INLINE VF Field(hn::Vec<DI> v) {
  const DF df;
  if constexpr (kBits == 8) {
    return hn::ConvertTo(df, v);  // the whole sign-extended byte
  } else if constexpr (f == 8 / kBits - 1) {
    return hn::ConvertTo(df, hn::ShiftRight<8 - kBits>(v));  // top field: sign of the byte
  } else {
    return hn::ConvertTo(df, hn::ShiftRight<32 - kBits>(hn::ShiftLeft<32 - (f + 1) * kBits>(v)));
  }
}

// Calls fn(std::integral_constant<int, f>()) for f = 0 .. kCount - 1, unrolled,
// so that each field's shift counts are immediates.
template <int kCount, class F>
HWY_INLINE void ForFields(const F& fn) {
  [&]<int... f>(std::integer_sequence<int, f...>) HWY_ATTR WQUANT_LAMBDA_INLINE {
    (fn(std::integral_constant<int, f>()), ...);
  }(std::make_integer_sequence<int, kCount>());
}

// The layout of a packed weight as the kernels walk it, on this target.
template <int kBits>
struct PackedLayout {
  int64_t row_bytes, chunks, K;  // K: columns in packed order, padded to whole chunks
  int64_t n_groups, group;       // group: columns per group
  int64_t group_chunks;          // > 0: chunks per group (groups are whole chunks); 0: not
  explicit PackedLayout(const QuantizedMatrixView& w)
      : row_bytes(w.row_words() * 4), chunks(ChunksPerRow(row_bytes)),
        K(ChunkCols<kBits>(chunks)), n_groups(w.n_groups()), group(w.group_cols()) {
    const int64_t per_chunk = ChunkCols<kBits>(1);
    group_chunks = n_groups == 1 ? chunks : group % per_chunk == 0 ? group / per_chunk : 0;
  }
  // Returns the group of packed-order position k.
  int64_t group_of(int64_t k) const {
    return std::min(PackedOrderColumn<kBits>(k) / group, n_groups - 1);
  }
};

}  // namespace HWY_NAMESPACE
}  // namespace wquant
HWY_AFTER_NAMESPACE();

#endif  // WQUANT_SRC_KERNELS_PACKED_DECODE_INL_H_ toggle
