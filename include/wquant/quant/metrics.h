// Reconstruction error between a reference tensor and its approximation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wquant {

struct ErrorStats {
  double mse = 0;          // mean of (ref - approx)^2
  double sqnr_db = 0;      // 10 log10(sum ref^2 / sum (ref - approx)^2); +inf if exact
  double max_abs = 0;      // max |ref - approx|
};

// Returns the error statistics of approx against ref, n values each.
ErrorStats error_stats(const float* ref, const float* approx, size_t n);

// Bins of the per-layer error histogram in reports: odd, so that a middle
// bin is centred on 0; 41 counts per layer are small next to the report.
constexpr size_t kErrorHistogramBins = 41;

// Counts of the signed errors ref - approx in counts.size() equal bins over
// [lo, hi]: bin i holds [lo + i w, lo + (i + 1) w), w = (hi - lo) / bins, the
// last bin also holds hi. Errors outside [lo, hi] are counted in the edge
// bins, so the counts always sum to the number of values. lo == hi (an exact
// quantization: every error 0) puts every value in the middle bin.
struct ErrorHistogram {
  double lo = 0, hi = 0;
  std::vector<uint64_t> counts;  // empty: no histogram kept

  // Returns the bin of error e (edge bins for errors outside [lo, hi]).
  size_t bin(double e) const;
  uint64_t total() const;
};

// Accumulates error statistics over chunks (e.g. one row at a time), so a
// large tensor's error needs no full-size copy. Sums in double.
class ErrorAccumulator {
 public:
  ErrorAccumulator() = default;
  // Also counts the signed errors ref - approx into `bins` bins over
  // [-bound, bound]. The bounds are fixed up front because a histogram
  // cannot be rebinned once counted; quantization_error takes them from a
  // first sweep's max_abs. Throws std::invalid_argument if bins < 1 or bound < 0.
  ErrorAccumulator(double bound, size_t bins);

  void add(const float* ref, const float* approx, size_t n);
  ErrorStats result() const;
  // Returns the histogram (counts empty when constructed without one).
  const ErrorHistogram& histogram() const { return histogram_; }

 private:
  double signal_ = 0, noise_ = 0, max_abs_ = 0;
  size_t n_ = 0;
  ErrorHistogram histogram_;
};

}  // namespace wquant
