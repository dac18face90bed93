#include "wquant/quant/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wquant {

void ErrorAccumulator::add(const float* ref, const float* approx, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double r = ref[i];
    const double d = r - double(approx[i]);
    signal_ += r * r;
    noise_ += d * d;
    max_abs_ = std::max(max_abs_, std::abs(d));
  }
  n_ += n;
}

ErrorStats ErrorAccumulator::result() const {
  ErrorStats s;
  s.max_abs = max_abs_;
  s.mse = n_ ? noise_ / double(n_) : 0.0;
  s.sqnr_db = noise_ == 0 ? std::numeric_limits<double>::infinity()
                          : 10.0 * std::log10(signal_ / noise_);
  return s;
}

ErrorStats error_stats(const float* ref, const float* approx, size_t n) {
  ErrorAccumulator acc;
  acc.add(ref, approx, n);
  return acc.result();
}

}  // namespace wquant
