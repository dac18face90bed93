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

}  // namespace wquant
