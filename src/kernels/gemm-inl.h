// Per-target SIMD matrix-matrix product for prompts (many tokens): the
// weights are dequantized a tile at a time into a small f32 buffer that
// every token then reuses, never as a whole matrix. Included by
// linear_simd.cpp once per Highway target.
//
// The product is computed transposed, vectorized over tokens:
//   Yt [rows, tokens] = Wd [rows, K] Xt [K, tokens]
// Xt holds the activations transposed, tile by tile of kTokenTile tokens
// (padded with zeros): tile i is [K, kTokenTile] contiguous, so that the
// micro-kernel streams it (a [K, all tokens] layout with 512 tokens puts the
// rows 2 KiB apart, and they fight over two L1 sets). Its row k is the
// activations of column k in the weight's packed order (packed_decode-inl.h;
// natural order for float weights), so dequantizing a tile needs no shuffle. Wd is a tile
// of kPanelRows dequantized rows by KC columns (48 KiB: stays in L2); the
// micro-kernel keeps a 6-row x 16-token block of Yt in 12 registers and per
// column does 2 vector loads of Xt, 6 broadcasts of Wd and 12 multiply-adds
// (the classic register-blocked GEMM kernel, FMA-bound). Each token's output
// is one f32 chain over k in a fixed order: it depends neither on the other
// tokens nor on how rows are split over threads.
#if defined(WQUANT_SRC_KERNELS_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WQUANT_SRC_KERNELS_GEMM_INL_H_
#undef WQUANT_SRC_KERNELS_GEMM_INL_H_
#else
#define WQUANT_SRC_KERNELS_GEMM_INL_H_
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "packed_decode-inl.h"

HWY_BEFORE_NAMESPACE();
namespace wquant {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr int64_t kMicroRows = 6;      // rows of a micro-kernel block
constexpr int64_t kTokenTile = 16;     // tokens of a micro-kernel block (2 AVX2 vectors)
constexpr int64_t kPanelRows = 48;     // rows dequantized together (multiple of kMicroRows)
constexpr int64_t kDepth = 256;        // KC: columns of a dequantized tile

// Yt[r * yt_stride + t] += sum_{k < depth} wd[r * kDepth + k] * xt[k * xt_stride + t]
// for r < kMicroRows, t < kTokenTile. xt and yt aligned; the token tile is
// whole vectors (kTokenTile a multiple of the lanes; 16 floats are 1 AVX3,
// 2 AVX2, 4 SSE4 vectors, handled as kTokenTile / Lanes loop iterations).
HWY_INLINE void MicroKernel(const float* wd, const float* xt, int64_t xt_stride, int64_t depth,
                            float* yt, int64_t yt_stride) {
  const DF df;
  const int64_t N = int64_t(hn::Lanes(df));
  // Two vectors of tokens per pass (one pass on AVX2; 2 on SSE4; on AVX3 the
  // second vector is the next 16 tokens' first half, so pass only once with
  // a half-tile: handled by the loop bound).
  for (int64_t t = 0; t < kTokenTile; t += 2 * N) {
    const bool two = t + N < kTokenTile;
    float* y = yt + t;
    auto c00 = hn::Load(df, y), c10 = hn::Load(df, y + yt_stride);
    auto c20 = hn::Load(df, y + 2 * yt_stride), c30 = hn::Load(df, y + 3 * yt_stride);
    auto c40 = hn::Load(df, y + 4 * yt_stride), c50 = hn::Load(df, y + 5 * yt_stride);
    auto c01 = hn::Zero(df), c11 = c01, c21 = c01, c31 = c01, c41 = c01, c51 = c01;
    if (two) {
      c01 = hn::Load(df, y + N), c11 = hn::Load(df, y + yt_stride + N);
      c21 = hn::Load(df, y + 2 * yt_stride + N), c31 = hn::Load(df, y + 3 * yt_stride + N);
      c41 = hn::Load(df, y + 4 * yt_stride + N), c51 = hn::Load(df, y + 5 * yt_stride + N);
    }
    const float* x = xt + t;
    const int64_t x1 = two ? N : 0;  // reads the first vector twice when there is one
    for (int64_t k = 0; k < depth; ++k, x += xt_stride) {
      const VF xa = hn::Load(df, x), xb = hn::Load(df, x + x1);
      VF w = hn::Set(df, wd[k]);
      c00 = hn::MulAdd(w, xa, c00), c01 = hn::MulAdd(w, xb, c01);
      w = hn::Set(df, wd[kDepth + k]);
      c10 = hn::MulAdd(w, xa, c10), c11 = hn::MulAdd(w, xb, c11);
      w = hn::Set(df, wd[2 * kDepth + k]);
      c20 = hn::MulAdd(w, xa, c20), c21 = hn::MulAdd(w, xb, c21);
      w = hn::Set(df, wd[3 * kDepth + k]);
      c30 = hn::MulAdd(w, xa, c30), c31 = hn::MulAdd(w, xb, c31);
      w = hn::Set(df, wd[4 * kDepth + k]);
      c40 = hn::MulAdd(w, xa, c40), c41 = hn::MulAdd(w, xb, c41);
      w = hn::Set(df, wd[5 * kDepth + k]);
      c50 = hn::MulAdd(w, xa, c50), c51 = hn::MulAdd(w, xb, c51);
    }
    hn::Store(c00, df, y), hn::Store(c10, df, y + yt_stride);
    hn::Store(c20, df, y + 2 * yt_stride), hn::Store(c30, df, y + 3 * yt_stride);
    hn::Store(c40, df, y + 4 * yt_stride), hn::Store(c50, df, y + 5 * yt_stride);
    if (two) {
      hn::Store(c01, df, y + N), hn::Store(c11, df, y + yt_stride + N);
      hn::Store(c21, df, y + 2 * yt_stride + N), hn::Store(c31, df, y + 3 * yt_stride + N);
      hn::Store(c41, df, y + 4 * yt_stride + N), hn::Store(c51, df, y + 5 * yt_stride + N);
    }
  }
}

// Computes Yt [panel_rows, nt] (+=, starting from what it holds) for one
// panel, calling dequantize(row, k0, depth, out) to fill each row's tile of
// Wd (out [depth] f32, packed order). wd: [kPanelRows, kDepth] scratch.
// panel_rows <= kPanelRows; rows past it are zero in Wd and ignored.
template <class Dequantize>
void GemmPanel(int64_t panel_rows, int64_t K, const float* xt, int64_t nt,
               const Dequantize& dequantize, float* wd, float* yt) {
  for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
    const int64_t depth = std::min(kDepth, K - k0);
    for (int64_t r = 0; r < panel_rows; ++r) dequantize(r, k0, depth, wd + r * kDepth);
    for (int64_t t0 = 0; t0 < nt; t0 += kTokenTile) {
      for (int64_t r = 0; r < panel_rows; r += kMicroRows) {
        MicroKernel(wd + r * kDepth, xt + (t0 * K + k0 * kTokenTile), kTokenTile, depth,
                    yt + r * nt + t0, nt);
      }
    }
  }
}

// Writes the f32 weights [k0, k0 + depth) of a float row to out.
template <typename T>
HWY_INLINE void FloatRowTile(const T* row, int64_t k0, int64_t depth, float* out) {
  const DF df;
  const int64_t N = int64_t(hn::Lanes(df));
  int64_t k = 0;
  for (; k + N <= depth; k += N) hn::StoreU(LoadWeights(df, row + k0 + k), df, out + k);
  if (k < depth) {  // through zero-padded copies: nothing past the row is read
    HWY_ALIGN T in_tail[HWY_MAX_BYTES / sizeof(float)] = {};
    HWY_ALIGN float out_tail[HWY_MAX_BYTES / sizeof(float)];
    std::memcpy(in_tail, row + k0 + k, size_t(depth - k) * sizeof(T));
    hn::Store(LoadWeights(df, static_cast<const T*>(in_tail)), df, out_tail);
    std::memcpy(out + k, out_tail, size_t(depth - k) * sizeof(float));
  }
}

// Writes the dequantized weights of packed-order positions [k0, k0 + depth)
// of row r of w to out: float(q - zp) * scale, bit for bit as the reference
// dequantizes (q - zp is exact in f32; one rounding in the multiply). k0 and
// depth are whole chunks (or depth runs to the row's end). When groups are
// not whole chunks the scales go per position through lane [2, kDepth]
// scratch (slow, for unusual group sizes).
template <int kBits>
HWY_INLINE void PackedRowTile(const QuantizedMatrixView& w, const PackedLayout<kBits>& L,
                              int64_t r, int64_t k0, int64_t depth, float* lane, float* out) {
  constexpr int V = 8 / kBits;
  const DF df;
  const int64_t N = ChunkBytes(), per_chunk = N * V;
  const uint8_t* row = static_cast<const uint8_t*>(w.packed) + r * L.row_bytes;
  const int64_t first = w.scale_index(r, 0);
  if (L.group_chunks == 0) {
    for (int64_t k = k0; k < k0 + depth; ++k) {
      const int64_t i = first + L.group_of(k);
      lane[k - k0] = w.scale_at(i);
      lane[kDepth + k - k0] = w.zero_points ? float(w.zero_points[i]) : 0.0f;
    }
  }
  VF scale = hn::Zero(df), zp = scale;
  int64_t scale_of = -1;  // the scale index `scale` and `zp` hold (groups of whole chunks)
  for (int64_t j = k0 / per_chunk; j * per_chunk < k0 + depth; ++j) {
    const auto v = LoadChunk<kBits>(row, j, L.row_bytes);
    if (L.group_chunks > 0) {
      // Converted when the group changes, not per chunk: scale_at is a
      // call, and per 8-column chunk it cost as much as the dequantizing.
      const int64_t i = first + std::min(j / L.group_chunks, L.n_groups - 1);
      if (i != scale_of) {
        scale_of = i;
        scale = hn::Set(df, w.scale_at(i));
        zp = hn::Set(df, w.zero_points ? float(w.zero_points[i]) : 0.0f);
      }
    }
    ForFields<V>([&](auto field) HWY_ATTR WQUANT_LAMBDA_INLINE {
      constexpr int f = decltype(field)::value;
      const int64_t k = j * per_chunk + f * N - k0;  // in out
      if (L.group_chunks == 0) {
        scale = hn::LoadU(df, lane + k);
        zp = hn::LoadU(df, lane + kDepth + k);
      }
      hn::StoreU(hn::Mul(hn::Sub(Field<kBits, f>(v), zp), scale), df, out + k);
    });
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wquant
HWY_AFTER_NAMESPACE();

#endif  // WQUANT_SRC_KERNELS_GEMM_INL_H_ toggle
