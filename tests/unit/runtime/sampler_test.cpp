#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "wquant/core/error.h"
#include "wquant/runtime/sampler.h"

namespace wquant {
namespace {

TEST(Sampler, GreedyIsArgmaxLowestIdOnTies) {
  Sampler s({});
  const std::vector<float> logits = {0.5f, 2.0f, 2.0f, -1.0f};
  EXPECT_EQ(s.sample(logits), 1);
}

TEST(Sampler, TopKOneIsGreedy) {
  Sampler s({.temperature = 1.0f, .top_k = 1, .top_p = 1.0f, .seed = 7});
  const std::vector<float> logits = {0.5f, 3.0f, 2.9f, -1.0f};
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(logits), 1);
}

// logits ln(1), ln(2), ln(7) at T = 1: p = 0.1, 0.2, 0.7. top-p 0.7 keeps
// only the first candidate (0.7 >= 0.7); top-p 0.8 keeps ids 2 and 1.
TEST(Sampler, TopPKeepsTheSmallestNucleus) {
  const std::vector<float> logits = {std::log(1.0f), std::log(2.0f), std::log(7.0f)};
  Sampler narrow({.temperature = 1.0f, .top_k = 0, .top_p = 0.7f, .seed = 1});
  for (int i = 0; i < 50; ++i) EXPECT_EQ(narrow.sample(logits), 2);
  Sampler wider({.temperature = 1.0f, .top_k = 0, .top_p = 0.8f, .seed = 1});
  std::map<int32_t, int> seen;
  for (int i = 0; i < 2000; ++i) seen[wider.sample(logits)]++;
  EXPECT_EQ(seen.count(0), 0u);
  // 2 vs 1 in ratio 7:2 -> id 1 about 2/9 = 22% of 2000 = 444; 5 sigma ~ 93.
  EXPECT_NEAR(seen[1], 444, 93);
}

TEST(Sampler, SameSeedSameSequence) {
  const std::vector<float> logits = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  Sampler a({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 42});
  Sampler b({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 42});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.sample(logits), b.sample(logits));
}

TEST(Sampler, BadOptionsAreErrors) {
  EXPECT_THROW(Sampler({.temperature = -1.0f}), Error);
  EXPECT_THROW(Sampler({.temperature = 1.0f, .top_k = -2}), Error);
  EXPECT_THROW(Sampler({.temperature = 1.0f, .top_k = 0, .top_p = 0.0f}), Error);
}

}  // namespace
}  // namespace wquant
