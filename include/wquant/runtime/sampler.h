// Sampler: picks the next token from logits: greedy (temperature 0), or
// sampled at a temperature after top-k and top-p (nucleus) filtering, from a
// seeded generator so a run repeats exactly.
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace wquant {

struct SamplingOptions {
  float temperature = 0.0f;  // 0: greedy (argmax)
  int top_k = 0;             // 0: no top-k filter
  float top_p = 1.0f;        // 1: no nucleus filter
  uint64_t seed = 0;
};

class Sampler {
 public:
  // Throws Error for a negative temperature or top_k, or top_p outside (0, 1].
  explicit Sampler(const SamplingOptions& options);
  // Returns the chosen token id. Ties in greedy mode go to the lowest id.
  int32_t sample(std::span<const float> logits);

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace wquant
