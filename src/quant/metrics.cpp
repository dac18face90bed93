#include "wquant/quant/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace wquant {

size_t ErrorHistogram::bin(double e) const {
  const size_t bins = counts.size();
  if (!(hi > lo)) return bins / 2;  // degenerate range: no width to divide by
  const double x = (e - lo) / (hi - lo) * double(bins);
  if (!(x > 0)) return 0;  // also NaN
  return std::min(bins - 1, static_cast<size_t>(x));
}

uint64_t ErrorHistogram::total() const {
  return std::accumulate(counts.begin(), counts.end(), uint64_t(0));
}

ErrorAccumulator::ErrorAccumulator(double bound, size_t bins) {
  if (bins < 1 || !(bound >= 0)) throw std::invalid_argument("ErrorAccumulator: bins < 1 or bound < 0");
  histogram_.lo = -bound;
  histogram_.hi = bound;
  histogram_.counts.assign(bins, 0);
}

void ErrorAccumulator::add(const float* ref, const float* approx, size_t n) {
  const bool counting = !histogram_.counts.empty();
  for (size_t i = 0; i < n; ++i) {
    const double r = ref[i];
    const double d = r - double(approx[i]);
    signal_ += r * r;
    noise_ += d * d;
    max_abs_ = std::max(max_abs_, std::abs(d));
    if (counting) ++histogram_.counts[histogram_.bin(d)];
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
