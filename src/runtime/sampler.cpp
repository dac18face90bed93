#include "wquant/runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "wquant/core/error.h"

namespace wquant {

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {
  if (!(options.temperature >= 0)) fail("temperature ", options.temperature, " is negative");
  if (options.top_k < 0) fail("top-k ", options.top_k, " is negative");
  if (!(options.top_p > 0 && options.top_p <= 1)) fail("top-p ", options.top_p, " is not in (0, 1]");
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (logits.empty()) fail("sample: no logits");
  if (options_.temperature == 0)
    return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());

  // Candidates sorted by logit, highest first (stable: ties keep id order).
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  size_t keep = ids.size();
  if (options_.top_k > 0) keep = std::min(keep, size_t(options_.top_k));
  std::partial_sort(ids.begin(), ids.begin() + std::ptrdiff_t(keep), ids.end(),
                    [&](int32_t a, int32_t b) {
                      return logits[size_t(a)] > logits[size_t(b)] ||
                             (logits[size_t(a)] == logits[size_t(b)] && a < b);
                    });
  ids.resize(keep);

  // Softmax at the temperature over the candidates, in double.
  const double top = logits[size_t(ids[0])];
  std::vector<double> p(ids.size());
  double sum = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    p[i] = std::exp((double(logits[size_t(ids[i])]) - top) / options_.temperature);
    sum += p[i];
  }
  for (auto& v : p) v /= sum;

  // Nucleus: the smallest prefix whose probability reaches top_p.
  if (options_.top_p < 1) {
    double cum = 0;
    size_t n = 0;
    while (n < p.size() && cum < options_.top_p) cum += p[n++];
    p.resize(n);
    ids.resize(n);
  }
  std::discrete_distribution<size_t> pick(p.begin(), p.end());
  return ids[pick(rng_)];
}

}  // namespace wquant
