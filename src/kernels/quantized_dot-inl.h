// Per-target SIMD dot products of packed quantized rows with activations.
// Included by linear_simd.cpp once per Highway target (foreach_target.h).
//
// The packed order. With b bits, an int32 word holds V = 32 / b values
// (b = 2, 4, 8): value k of the word in bits [k*b, (k+1)*b). A block is N
// consecutive words of a row, N = Lanes(float vector) (4 on SSE4, 8 on AVX2,
// 16 on AVX3). Loaded as an int32 vector, lane i of a block holds the word
// i, and its field k is value i*V + k of the block. Instead of shuffling the
// weights into column order, the activations are shuffled once per call (x
// is shared by every row) into the matching order:
//
//   xp[j*N*V + k*N + i] = x[j*N*V + i*V + k]   (0 past the last column)
//
// so block j's field k multiplies the N contiguous floats at xp[j*N*V + k*N].
// Decoding field k of a vector of words is then two shifts and a convert:
//   w ^= 0x..8888 (the top bit of every field): a field u becomes u ^ 2^(b-1),
//     which read as a b-bit two's complement number is q = u - 2^(b-1);
//   q_k = (w << (32 - (k+1)*b)) >> (32 - b), arithmetic shift: sign-extended;
// the fields are unrolled so that the shift counts are immediates.
// Every weight byte is loaded once per call of DotPackedRow; the zero bits
// that pad a row's last word decode to -2^(b-1) but meet activations of 0.
//
// Scales: each lane accumulates its own word, so a block's partial sums are
// multiplied by a vector of per-word scales (a broadcast when the block lies
// in one group). That needs every word inside one group: group_size a
// multiple of V (the caller checks). Zero-points are applied per row as
// sum_g scale_g * zp_g * sum(x over group g), outside these functions.
#if defined(WQUANT_SRC_KERNELS_QUANTIZED_DOT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WQUANT_SRC_KERNELS_QUANTIZED_DOT_INL_H_
#undef WQUANT_SRC_KERNELS_QUANTIZED_DOT_INL_H_
#else
#define WQUANT_SRC_KERNELS_QUANTIZED_DOT_INL_H_
#endif

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace wquant {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Writes x [in] in packed order (above) to xp [blocks * N * per_word].
inline void PermuteToPackedOrder(const float* x, int64_t in, int64_t per_word, int64_t N,
                                 int64_t blocks, float* xp) {
  for (int64_t j = 0; j < blocks; ++j) {
    for (int64_t i = 0; i < N; ++i) {
      for (int64_t k = 0; k < per_word; ++k) {
        const int64_t c = (j * N + i) * per_word + k;
        xp[(j * per_word + k) * N + i] = c < in ? x[c] : 0.0f;
      }
    }
  }
}

// Calls f(std::integral_constant<int, k>()) for k = 0 .. kCount - 1, unrolled,
// so that each field's shift counts are immediates.
template <int kCount, class F>
HWY_INLINE void UnrollFields(const F& f) {
  [&]<int... k>(std::integer_sequence<int, k...>) HWY_ATTR {
    (f(std::integral_constant<int, k>()), ...);
  }(std::make_integer_sequence<int, kCount>());
}

// Returns an int32 with the top bit of every kBits-wide field set.
template <int kBits>
constexpr int32_t FieldTopBits() {
  uint32_t m = 0;
  for (int i = 0; i < 32; i += kBits) m |= 1u << (i + kBits - 1);
  return int32_t(m);
}

// The scales of one packed row, as DotPackedRow reads them per block of N words.
struct RowScales {
  const float* group = nullptr;      // [n_groups] f32 scales of the row
  int64_t blocks_per_group = 0;      // > 0: a group is this many whole blocks;
                                     // 0: one group for the whole row
  const float* per_word = nullptr;   // if set: [blocks * N] scale of each word
                                     // (groups that are not whole blocks)
};

// Returns the N words of `row` starting at word w0, as int32 lanes; words
// past `words` (the row's end) are 0 and are not read. The row may be
// unaligned: LoadU takes any address (x86 loadu, Arm LD1, memcpy on
// EMU128/SCALAR), and the tail goes through an aligned copy.
template <class DI>
HWY_INLINE hn::Vec<DI> LoadWords(DI di, const uint8_t* row, int64_t w0, int64_t words) {
  const int64_t N = int64_t(hn::Lanes(di));
  if (w0 + N <= words) return hn::LoadU(di, reinterpret_cast<const int32_t*>(row + w0 * 4));
  HWY_ALIGN int32_t tail[HWY_MAX_BYTES / 4] = {};
  std::memcpy(tail, row + w0 * 4, size_t(words - w0) * 4);
  return hn::Load(di, tail);
}

// Writes to sums[t], t < kTokens, the dot product of the packed row
// (`words` int32 words, any alignment) with token t's activations in packed
// order at xp + t * xp_stride, each word's partial sum times its scale:
// sum_c q[c] * scale(c) * x_t[c], without zero-points. f32 throughout; the
// tokens share each decoded weight vector.
template <int kBits, size_t kTokens>
HWY_INLINE void DotPackedRow(const uint8_t* row, int64_t words, const float* xp,
                             int64_t xp_stride, const RowScales& scales, float* sums) {
  static_assert(kBits == 2 || kBits == 4 || kBits == 8, "whole fields per word");
  static_assert(kTokens >= 1 && kTokens <= 4, "up to 4 tokens at a time");
  constexpr int kPerWord = 32 / kBits;
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const int64_t N = int64_t(hn::Lanes(df));
  const auto top_bits = hn::Set(di, FieldTopBits<kBits>());
  // Per token: acc (the row so far) and, per block, two partial sums (even
  // and odd fields: two dependency chains). No arrays: SVE vectors are sizeless.
  auto acc0 = hn::Zero(df), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  // sum_t += q * (token t's activations at x), for each token.
  const auto fma_tokens = [&](hn::Vec<decltype(df)> q, const float* x, auto& sum0, auto& sum1,
                              auto& sum2, auto& sum3) HWY_ATTR {
    sum0 = hn::MulAdd(q, hn::LoadU(df, x), sum0);
    if constexpr (kTokens > 1) sum1 = hn::MulAdd(q, hn::LoadU(df, x + xp_stride), sum1);
    if constexpr (kTokens > 2) sum2 = hn::MulAdd(q, hn::LoadU(df, x + 2 * xp_stride), sum2);
    if constexpr (kTokens > 3) sum3 = hn::MulAdd(q, hn::LoadU(df, x + 3 * xp_stride), sum3);
  };
  int64_t group = 0, blocks_left = scales.blocks_per_group;  // group of the block at w0
  for (int64_t w0 = 0; w0 < words; w0 += N) {
    const auto packed = hn::Xor(LoadWords(di, row, w0, words), top_bits);
    const float* xb = xp + w0 * kPerWord;
    auto even0 = hn::Zero(df), even1 = even0, even2 = even0, even3 = even0;
    auto odd0 = even0, odd1 = even0, odd2 = even0, odd3 = even0;
    UnrollFields<kPerWord>([&](auto field) HWY_ATTR {
      constexpr int k = decltype(field)::value;
      // Field k shifted to the top, then arithmetic-shifted down: sign-extended q.
      const auto at_top = hn::ShiftLeft<32 - (k + 1) * kBits>(packed);
      const auto q = hn::ConvertTo(df, hn::ShiftRight<32 - kBits>(at_top));
      if constexpr (k % 2 == 0) {
        fma_tokens(q, xb + k * N, even0, even1, even2, even3);
      } else {
        fma_tokens(q, xb + k * N, odd0, odd1, odd2, odd3);
      }
    });
    const auto s = scales.per_word ? hn::LoadU(df, scales.per_word + w0)
                                   : hn::Set(df, scales.group[group]);
    if (blocks_left > 0 && --blocks_left == 0) {
      ++group;
      blocks_left = scales.blocks_per_group;
    }
    acc0 = hn::MulAdd(hn::Add(even0, odd0), s, acc0);
    if constexpr (kTokens > 1) acc1 = hn::MulAdd(hn::Add(even1, odd1), s, acc1);
    if constexpr (kTokens > 2) acc2 = hn::MulAdd(hn::Add(even2, odd2), s, acc2);
    if constexpr (kTokens > 3) acc3 = hn::MulAdd(hn::Add(even3, odd3), s, acc3);
  }
  sums[0] = hn::GetLane(hn::SumOfLanes(df, acc0));
  if constexpr (kTokens > 1) sums[1] = hn::GetLane(hn::SumOfLanes(df, acc1));
  if constexpr (kTokens > 2) sums[2] = hn::GetLane(hn::SumOfLanes(df, acc2));
  if constexpr (kTokens > 3) sums[3] = hn::GetLane(hn::SumOfLanes(df, acc3));
}

}  // namespace HWY_NAMESPACE
}  // namespace wquant
HWY_AFTER_NAMESPACE();

#endif  // WQUANT_SRC_KERNELS_QUANTIZED_DOT_INL_H_ toggle
