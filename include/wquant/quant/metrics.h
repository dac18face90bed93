// Reconstruction error between a reference tensor and its approximation.
#pragma once

#include <cstddef>

namespace wquant {

struct ErrorStats {
  double mse = 0;          // mean of (ref - approx)^2
  double sqnr_db = 0;      // 10 log10(sum ref^2 / sum (ref - approx)^2); +inf if exact
  double max_abs = 0;      // max |ref - approx|
};

// Returns the error statistics of approx against ref, n values each.
ErrorStats error_stats(const float* ref, const float* approx, size_t n);

// Accumulates error statistics over chunks (e.g. one row at a time), so a
// large tensor's error needs no full-size copy. Sums in double.
class ErrorAccumulator {
 public:
  void add(const float* ref, const float* approx, size_t n);
  ErrorStats result() const;

 private:
  double signal_ = 0, noise_ = 0, max_abs_ = 0;
  size_t n_ = 0;
};

}  // namespace wquant
