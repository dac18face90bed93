#include "wquant/quant/gptq.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "wquant/core/error.h"
#include "wquant/quant/grid_search.h"

namespace wquant {
namespace {

// Returns true and the upper Cholesky factor u [n, n] of a^-1 for a
// symmetric positive definite a [n, n]; false if a is not (numerically).
// With J the order-reversing permutation: J a J = R^T R (R upper, the
// Cholesky factor), so a = M^T M with M = J R J lower, a^-1 = M^-1 M^-T and
// u = M^-T = J R^-T J, i.e. u[i][j] = (R^-1)[n-1-j][n-1-i]. One
// factorisation and one triangular inverse, inner loops along rows.
bool inverse_cholesky_upper(const std::vector<double>& a, int64_t n, std::vector<float>& u,
                            const ParallelFor& parallel) {
  std::vector<double> r(size_t(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) r[size_t(i * n + j)] = a[size_t((n - 1 - i) * n + (n - 1 - j))];
  for (int64_t k = 0; k < n; ++k) {  // right-looking upper Cholesky, in place
    double* rk = &r[size_t(k * n)];
    if (!(rk[k] > 0) || !std::isfinite(rk[k])) return false;
    const double d = std::sqrt(rk[k]);
    rk[k] = d;
    for (int64_t j = k + 1; j < n; ++j) rk[j] /= d;
    auto update = [&](int64_t begin, int64_t end) {
      for (int64_t i = k + 1 + begin; i < k + 1 + end; ++i) {
        double* ri = &r[size_t(i * n)];
        const double f = rk[i];
        for (int64_t j = i; j < n; ++j) ri[j] -= f * rk[j];
      }
    };
    if (parallel && n - k - 1 >= 64)
      parallel(n - k - 1, update);
    else
      update(0, n - k - 1);
  }
  // x = R^-1 (upper), row i from rows i+1.. : x_i = (e_i - sum_k>i R[i][k] x_k) / R[i][i].
  std::vector<double> x(size_t(n * n), 0.0);
  std::vector<double> t(static_cast<size_t>(n));
  for (int64_t i = n - 1; i >= 0; --i) {
    std::fill(t.begin() + i, t.end(), 0.0);
    const double* ri = &r[size_t(i * n)];
    // t[j] for j in [i + 1 + begin, i + 1 + end): each j on its own, so the
    // columns split over threads without changing any sum's order.
    auto accumulate = [&](int64_t begin, int64_t end) {
      const int64_t j0 = i + 1 + begin, j1 = i + 1 + end;
      for (int64_t k = i + 1; k < j1; ++k) {
        const double f = ri[k];
        const double* xk = &x[size_t(k * n)];
        for (int64_t j = std::max(k, j0); j < j1; ++j) t[size_t(j)] += f * xk[j];
      }
    };
    if (parallel && n - i - 1 >= 64)
      parallel(n - i - 1, accumulate);
    else
      accumulate(0, n - i - 1);
    double* xi = &x[size_t(i * n)];
    xi[i] = 1.0 / ri[i];
    for (int64_t j = i + 1; j < n; ++j) xi[j] = -t[size_t(j)] / ri[i];
  }
  u.assign(size_t(n * n), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) {
      const double v = x[size_t((n - 1 - j) * n + (n - 1 - i))];
      if (!std::isfinite(v)) return false;
      u[size_t(i * n + j)] = float(v);
    }
  for (int64_t i = 0; i < n; ++i)
    if (!(u[size_t(i * n + i)] > 0)) return false;
  return true;
}

}  // namespace

GptqFactor gptq_factor(const double* h, int64_t cols, const GptqOptions& options,
                       const ParallelFor& parallel) {
  if (cols <= 0) fail("gptq: ", cols, " columns");
  if (!(options.damp_percent > 0)) fail("gptq: damping ", options.damp_percent, " must be > 0");
  GptqFactor f;
  f.cols = cols;
  f.dead.resize(size_t(cols));
  std::vector<double> diag(static_cast<size_t>(cols));
  for (int64_t c = 0; c < cols; ++c) {
    const double d = h[c * cols + c];
    if (!std::isfinite(d)) fail("gptq: H[", c, "][", c, "] = ", d, " is not finite");
    f.dead[size_t(c)] = d == 0;
    diag[size_t(c)] = d == 0 ? 1.0 : d;
  }
  f.order.resize(size_t(cols));
  std::iota(f.order.begin(), f.order.end(), 0);
  if (options.act_order)
    std::stable_sort(f.order.begin(), f.order.end(),
                     [&](int64_t a, int64_t b) { return diag[size_t(a)] > diag[size_t(b)]; });
  std::vector<double> a(size_t(cols * cols));
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t oi = f.order[size_t(i)], oj = f.order[size_t(j)];
      a[size_t(i * cols + j)] = oi == oj ? diag[size_t(oi)] : (f.dead[size_t(oi)] || f.dead[size_t(oj)] ? 0.0 : h[oi * cols + oj]);
    }
  const double mean_diag = std::accumulate(diag.begin(), diag.end(), 0.0) / double(cols);
  double percent = options.damp_percent;
  for (int attempt = 0; attempt < 4; ++attempt, percent *= 10) {
    std::vector<double> damped = a;
    for (int64_t i = 0; i < cols; ++i) damped[size_t(i * cols + i)] += percent * mean_diag;
    if (inverse_cholesky_upper(damped, cols, f.u, parallel)) {
      f.ok = true;
      f.damp_percent = percent;
      return f;
    }
  }
  f.u.clear();
  return f;
}

void gptq_rows(const GptqFactor& f, const float* w, int64_t block_size, int64_t row_begin,
               int64_t row_end, QuantizedTensor& grid) {
  if (!f.ok) fail("gptq: H is not positive definite");
  if (grid.cols != f.cols) fail("gptq: weight has ", grid.cols, " columns, H ", f.cols);
  if (block_size <= 0) fail("gptq: block size ", block_size);
  const int64_t n = f.cols;
  const int bits = grid.scheme.bits;
  constexpr int64_t kRowChunk = 16;  // rows updated together, to reuse each row of u
  std::vector<float> wc(size_t(kRowChunk * n)), err(size_t(kRowChunk * block_size));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kRowChunk) {
    const int64_t m = std::min(kRowChunk, row_end - r0);
    for (int64_t r = 0; r < m; ++r)
      for (int64_t k = 0; k < n; ++k) {
        const int64_t c = f.order[size_t(k)];
        wc[size_t(r * n + k)] = f.dead[size_t(c)] ? 0.0f : w[(r0 + r) * n + c];
      }
    for (int64_t i1 = 0; i1 < n; i1 += block_size) {
      const int64_t i2 = std::min(i1 + block_size, n);
      for (int64_t i = i1; i < i2; ++i) {
        const int64_t c = f.order[size_t(i)];
        const float* ui = &f.u[size_t(i * n)];
        const float d = ui[i];
        for (int64_t r = 0; r < m; ++r) {
          const int64_t row = r0 + r, s = grid.scale_index(row, c);
          const float scale = grid.scales[size_t(s)];
          const int zp = grid.zero_points.empty() ? 0 : grid.zero_points[size_t(s)];
          float* wr = &wc[size_t(r * n)];
          const int8_t q = quantize_value(wr[i], scale, zp, bits);
          grid.q[size_t(row * n + c)] = q;
          const float e = (wr[i] - float(q - zp) * scale) / d;
          err[size_t(r * block_size + (i - i1))] = e;
          for (int64_t j = i + 1; j < i2; ++j) wr[j] -= e * ui[j];
        }
      }
      for (int64_t r = 0; r < m; ++r) {
        float* wr = &wc[size_t(r * n)];
        for (int64_t k = 0; k < i2 - i1; ++k) {
          const float e = err[size_t(r * block_size + k)];
          const float* uk = &f.u[size_t((i1 + k) * n)];
          for (int64_t j = i2; j < n; ++j) wr[j] -= e * uk[j];
        }
      }
    }
  }
}

OutputErrorSums output_error_sums(const float* w, const QuantizedTensor& q, const double* h,
                                  int64_t row_begin, int64_t row_end) {
  const int64_t n = q.cols;
  OutputErrorSums sums;
  std::vector<double> d(static_cast<size_t>(n)), x(static_cast<size_t>(n));
  auto quadratic = [&](const std::vector<double>& v) {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double* hi = h + i * n;
      double s = 0;
      for (int64_t j = 0; j < n; ++j) s += hi[j] * v[size_t(j)];
      total += v[size_t(i)] * s;
    }
    return total;
  };
  for (int64_t r = row_begin; r < row_end; ++r) {
    for (int64_t c = 0; c < n; ++c) {
      const int64_t s = q.scale_index(r, c);
      const int zp = q.zero_points.empty() ? 0 : q.zero_points[size_t(s)];
      x[size_t(c)] = w[r * n + c];
      d[size_t(c)] = double(w[r * n + c]) - double(float(q.q[size_t(r * n + c)] - zp) * q.scales[size_t(s)]);
    }
    sums.error += quadratic(d);
    sums.signal += quadratic(x);
  }
  return sums;
}

double relative_output_error(const float* w, const QuantizedTensor& q, const double* h) {
  const OutputErrorSums s = output_error_sums(w, q, h, 0, q.rows);
  return s.signal > 0 ? std::sqrt(std::max(0.0, s.error) / s.signal) : 0.0;
}

}  // namespace wquant
