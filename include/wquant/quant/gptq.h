// GPTQ (Frantar et al., 2022, "GPTQ: Accurate Post-Training Quantization for
// Generative Pre-trained Transformers", Algorithm 1): quantizes a weight
// W [rows, cols] column by column, spreading each column's rounding error
// over the columns not yet quantized so that ||(W - Q) X|| stays small for
// the layer's calibration inputs X, through H = 2 X^T X / n [cols, cols].
//
// As in the paper's reference implementation:
//   * dead inputs: a column whose H diagonal is 0 gets H[c][c] = 1 and a
//     zero weight (its input is always 0, so its weight cannot matter);
//   * act-order: columns in order of decreasing H diagonal (stable sort);
//   * damping: lambda = damp_percent * mean(diag H) added to the diagonal;
//     if H + lambda I is not positive definite, damp_percent is multiplied by
//     10 (at most 3 times) and the factorisation retried;
//   * U = the upper Cholesky factor of (H + lambda I)^-1 (computed in double);
//   * columns in blocks of block_size; inside a block each column's error
//     err = (w - q) / U[c][c] updates the block's later columns at once,
//     the columns after the block in one batch at the block's end.
// The grid (scales and zero-points) is fixed before the column loop
// ("static groups"), so act-order needs no g_idx in the saved format.
// Integers use the whole range [-2^(b-1), 2^(b-1) - 1] (grid_search.h).
// Rows are independent given U: gptq_rows on a split of the rows gives the
// same integers as one call on all of them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wquant/quant/quantize.h"

namespace wquant {

struct GptqOptions {
  double damp_percent = 0.01;
  int64_t block_size = 128;
  bool act_order = true;
};

// H, damped, reordered and factorised once per layer.
struct GptqFactor {
  int64_t cols = 0;
  std::vector<int64_t> order;  // order[k] = the original column quantized k-th
  std::vector<char> dead;      // [cols], original order: H[c][c] == 0
  std::vector<float> u;        // [cols, cols] upper Cholesky of H^-1, permuted order
  double damp_percent = 0;     // the damping that succeeded
  bool ok = false;             // false: H was not positive definite even so
};

// Runs fn(begin, end) over disjoint ranges covering [0, n) (possibly on
// several threads) and returns when all are done.
using ParallelFor = std::function<void(int64_t n, const std::function<void(int64_t, int64_t)>& fn)>;

// Returns the factor of H [cols, cols] (row-major, symmetric, double). The
// O(cols^3) steps split their rows with `parallel` when given; the result
// does not depend on the split.
GptqFactor gptq_factor(const double* h, int64_t cols, const GptqOptions& options,
                       const ParallelFor& parallel = {});

// Writes grid.q for rows [row_begin, row_end) of w [grid.rows, grid.cols]:
// GPTQ against `factor` on the scales and zero-points already in `grid`.
// Requires factor.ok.
void gptq_rows(const GptqFactor& factor, const float* w, int64_t block_size, int64_t row_begin,
               int64_t row_end, QuantizedTensor& grid);

// Returns the relative output error sqrt(tr(D H D^T) / tr(W H W^T)),
// D = W - dequantize(q), for H [cols, cols]: ||(W - Q) X|| / ||W X|| over the
// calibration inputs behind H. 0 when W H W^T is 0.
double relative_output_error(const float* w, const QuantizedTensor& q, const double* h);

// The two sums of relative_output_error over rows [row_begin, row_end):
// {sum_r d_r H d_r^T, sum_r w_r H w_r^T}, for callers that split rows.
struct OutputErrorSums {
  double error = 0, signal = 0;
};
OutputErrorSums output_error_sums(const float* w, const QuantizedTensor& q, const double* h,
                                  int64_t row_begin, int64_t row_end);

}  // namespace wquant
