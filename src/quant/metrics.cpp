#include "wquant/quant/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wquant {

ErrorStats error_stats(const float* ref, const float* approx, size_t n) {
  ErrorStats s;
  double signal = 0, noise = 0;
  for (size_t i = 0; i < n; ++i) {
    const double r = ref[i];
    const double d = r - double(approx[i]);
    signal += r * r;
    noise += d * d;
    s.max_abs = std::max(s.max_abs, std::abs(d));
  }
  s.mse = n ? noise / double(n) : 0.0;
  s.sqnr_db = noise == 0 ? std::numeric_limits<double>::infinity()
                         : 10.0 * std::log10(signal / noise);
  return s;
}

}  // namespace wquant
