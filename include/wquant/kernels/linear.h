// Linear-layer kernels: y = x W^T + bias for a float or quantized weight W
// [out, in] (weight_matrix.h), in two shapes:
//   matvec: one token x [in] (decode), y [out];
//   matmul: n_tokens tokens x [n_tokens, in] (prompt, batch), y [n_tokens, out].
//
// Activations x are F32, F16 or BF16, row-major; F16/BF16 are converted to
// f32 once at the boundary (exact), so every kernel computes in f32. The
// output y is always f32. bias is nullptr or f32 [out] (convert a 16-bit bias
// once at load time). Every pointer may have any alignment.
//
// Two implementations, which the tests hold to each other:
//  * *_ref: the scalar reference that defines correctness. Per output row it
//    dequantizes W's row to f32 exactly as wquant::dequantize does
//    (w = float(q - zero_point) * scale), then accumulates sum_c w[c] x[c]
//    in double, adds the bias in double and rounds once to f32.
//  * matvec / matmul: Highway SIMD, dispatched once per call to the best
//    target compiled in (simd_target.h forces one). Two kernels:
//    - fewer than 4 tokens (decode): each token on its own, rows 4 at a
//      time, the weight bytes decoded in registers. When the weight's
//      groups are whole chunks (per-channel, per-tensor, and on AVX2 groups
//      that are multiples of 16 / 32 / 64 columns for 8 / 4 / 2 bits) the
//      token's activations are first rounded to 16-bit integers with one
//      power-of-two scale sigma = 2^(k-15), max |x| = f 2^k, f in [0.5, 1)
//      (so |x - x16 sigma| <= sigma <= max |x| / 2^14), and weights meet
//      them in integer multiply-adds, exact per group
//      (src/kernels/int16_matvec-inl.h). Other groups keep the activations
//      in f32 and apply the scale once per group
//      (src/kernels/quantized_matvec-inl.h). Below 8 bits both sum the
//      unsigned codes u = q + 2^(b-1) (cheaper to decode, and decoding
//      bounds 4-bit speed) and take off sum_g s_g (2^(b-1) + zp_g) (sum of
//      x over g); 8-bit decodes q exactly and takes off the zero-points the
//      same way. On CPUs with AVX-512 VNNI (the AVX3_DL target) the 16-bit
//      activations are split into two signed bytes and meet the codes in
//      byte dot products (vpdpbusd; src/kernels/vnni_matvec-inl.h), the
//      same integer sums, for 2, 4 and 8 bits with groups of whole 64-byte
//      chunks or of 4-32 bytes (so 32-column 4-bit groups too); there a
//      symmetric weight's offset 2^(b-1) (sum of x16) is taken off exactly
//      inside the integer sums, once per token, so rows need no correction;
//      a token whose largest value rounds past 32639 is rounded at 2 sigma
//      there (error at most sigma, as the bound below allows). With 16-bit
//      activations a token holding inf or NaN gives NaN outputs.
//    - 4 tokens or more (prompt): a tiled GEMM; tiles of 48 rows x 256
//      columns are dequantized to f32 exactly as the reference does, then
//      reused by every token (src/kernels/gemm-inl.h). Never a whole
//      dequantized copy.
//    Accumulation is in f32 in another order, so results differ from the
//    reference by rounding, plus the 16-bit activations' rounding in the
//    matrix-vector kernel: the tests' bound is
//      (in + 32) * 2^-24 * sum_c |s| (|q| + |zp| + o_b) |x_c|
//        + sum_c |s| |q - zp| sigma,
//    o_b = 2^b for quantized weights (the offset terms of the matrix-vector
//    kernels: |u| <= |q| + 2^(b-1) and |2^(b-1) + zp| <= 2^(b-1) + |zp|; 8
//    bits sum u = q + 128 on the AVX3_DL kernel), 0 for float weights; sigma (above) is 0 where activations stay f32. Rows
//    are split over the pool's threads, and each token's outputs are
//    computed on their own: results depend neither on the thread count nor
//    on the other tokens of the call (but a token through matvec and through
//    a >= 4-token matmul may differ by that bound).
//    3-bit weights take the reference path (still multithreaded).
#pragma once

#include <cstdint>

#include "wquant/core/dtype.h"
#include "wquant/kernels/thread_pool.h"
#include "wquant/kernels/weight_matrix.h"

namespace wquant {

// Computes y [out] = W x + bias for one token x [in] of dtype x_dtype.
// Throws Error if w is invalid or x_dtype is not F32/F16/BF16.
void matvec(const WeightMatrix& w, const void* x, DType x_dtype, const float* bias, float* y,
            ThreadPool& pool);

// Computes y [n_tokens, out] = x [n_tokens, in] W^T + bias.
// Throws Error if w is invalid, x_dtype is not F32/F16/BF16 or n_tokens < 0.
void matmul(const WeightMatrix& w, const void* x, DType x_dtype, int64_t n_tokens,
            const float* bias, float* y, ThreadPool& pool);

// The scalar references of matvec and matmul (single-threaded).
void matvec_ref(const WeightMatrix& w, const void* x, DType x_dtype, const float* bias, float* y);
void matmul_ref(const WeightMatrix& w, const void* x, DType x_dtype, int64_t n_tokens,
                const float* bias, float* y);

// Writes row r of W, dequantized to f32 exactly as the references see it,
// to out [in] (a model's embedding lookup reads rows this way).
void weight_row_f32(const WeightMatrix& w, int64_t r, float* out);

// Returns true if matvec / matmul run w through a SIMD kernel, false if they
// take the reference path (3 bits).
bool has_simd_kernel(const WeightMatrix& w);

}  // namespace wquant
