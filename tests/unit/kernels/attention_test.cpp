#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernel_test_util.h"
#include "wquant/core/error.h"
#include "wquant/kernels/attention.h"

namespace wquant {
namespace {

// Two keys, one head of size 2: key 1 scores 0 + 1 * ln 3 higher, so its
// weight is 3/4 (softmax of {0, ln 3}); causal query 0 sees only key 0.
TEST(AttentionRef, HandComputed) {
  const AttentionShape s{1, 1, 2};
  const float q[] = {0, 1, 0, 1};
  const float k[] = {0, 0, 0, std::log(3.0f)};
  const float v[] = {4, 8, 0, 0};
  float out[4];
  attention_ref(s, q, 2, k, v, 2, /*causal=*/false, 1.0f, out);
  EXPECT_NEAR(out[0], 1, 1e-6);  // 1/4 * 4 + 3/4 * 0
  EXPECT_NEAR(out[1], 2, 1e-6);
  attention_ref(s, q, 2, k, v, 2, /*causal=*/true, 1.0f, out);
  EXPECT_NEAR(out[0], 4, 1e-6);  // query 0 sees key 0 only
  EXPECT_NEAR(out[1], 8, 1e-6);
  EXPECT_NEAR(out[2], 1, 1e-6);
}

// Grouped-query: with 2 query heads on 1 key/value head, both heads read the
// same values; a head of its own would read the second half of the row.
TEST(AttentionRef, GroupedQueryHeadsShareKeyValueHeads) {
  const AttentionShape s{2, 1, 1};
  const float q[] = {1, 1}, k[] = {5}, v[] = {7};
  float out[2];
  attention_ref(s, q, 1, k, v, 1, true, 1.0f, out);
  EXPECT_EQ(out[0], 7);
  EXPECT_EQ(out[1], 7);
}

TEST(Attention, RejectsBadArguments) {
  ThreadPool pool(1);
  float x[4] = {};
  EXPECT_THROW(attention({3, 2, 4}, x, 1, x, x, 1, true, 1, x, pool), Error);  // 3 % 2 != 0
  EXPECT_THROW(attention({1, 1, 4}, x, 2, x, x, 1, true, 1, x, pool), Error);  // 2 queries, 1 key
  EXPECT_THROW(attention_ref({1, 1, 0}, x, 1, x, x, 1, true, 1, x), Error);
}

// A window of w keys: each query's output equals plain attention over just
// its last w keys (an independent slice), and the query's own key always counts.
TEST(AttentionRef, SlidingWindowEqualsAttentionOverTheLastKeys) {
  const AttentionShape s{2, 1, 4};
  const int64_t n = 3, n_keys = 9, window = 4;
  const auto q = test::random_floats(size_t(n * 8), 0.1f, 1.0f, 7);
  const auto k = test::random_floats(size_t(n_keys * 4), -0.1f, 1.0f, 8);
  const auto v = test::random_floats(size_t(n_keys * 4), 0.5f, 2.0f, 9);
  std::vector<float> got(size_t(n * 8)), want(8);
  attention_ref(s, q.data(), n, k.data(), v.data(), n_keys, true, 0.5f, got.data(), {window, 0});
  for (int64_t t = 0; t < n; ++t) {
    const int64_t last = n_keys - n + t, first = last - window + 1;
    attention_ref(s, q.data() + t * 8, 1, k.data() + first * 4, v.data() + first * 4, window,
                  false, 0.5f, want.data());
    for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(got[size_t(t * 8 + i)], want[size_t(i)]) << t;
  }
}

// Soft-capping by hand: scores {0, 2} with cap 1 become {0, tanh 2}, so key
// 1's weight is sigmoid(tanh 2) instead of sigmoid(2).
TEST(AttentionRef, SoftCapHandComputed) {
  const AttentionShape s{1, 1, 1};
  const float q[] = {1}, k[] = {0, 2}, v[] = {0, 1};
  float out[1];
  attention_ref(s, q, 1, k, v, 2, false, 1.0f, out, {0, 1.0f});
  EXPECT_NEAR(out[0], 1 / (1 + std::exp(-std::tanh(2.0f))), 1e-6);
}

TEST(Attention, RejectsBadLimits) {
  ThreadPool pool(1);
  float x[4] = {};
  EXPECT_THROW(attention({1, 1, 4}, x, 1, x, x, 1, false, 1, x, pool, {2, 0}), Error);  // window, not causal
  EXPECT_THROW(attention({1, 1, 4}, x, 1, x, x, 1, true, 1, x, pool, {-1, 0}), Error);
  EXPECT_THROW(attention_ref({1, 1, 4}, x, 1, x, x, 1, true, 1, x, {0, -3}), Error);
}

struct Case {
  AttentionShape shape;
  int64_t n, n_keys;
  bool causal;
  AttentionLimits limits = {};
};

// SIMD vs the reference on every compiled target, 1 and 2 threads: head
// sizes with and without a vector tail, one key to a few hundred, decode
// (n = 1) and prompt (n > 1). Bound: the outputs are convex combinations of
// the values, and the two differ in summation order and in exp (Highway's
// polynomial vs libm, a few ulp), so |simd - ref| <= 2e-6 * max |v|
// (measured at most 1.6e-7 * max |v| over every target here, 2026-11-22;
// the bound leaves 10x for other CPUs' exp).
TEST(Attention, MatchesReferenceOnEveryTarget) {
  const Case cases[] = {
      {{9, 3, 64}, 1, 1, true},   {{9, 3, 64}, 1, 300, true}, {{9, 3, 64}, 7, 300, true},
      {{4, 4, 13}, 5, 5, true},   {{4, 4, 13}, 5, 37, false}, {{2, 1, 3}, 3, 9, true},
      {{12, 12, 32}, 16, 16, false}, {{4, 2, 80}, 3, 41, true}, {{2, 1, 128}, 2, 19, true},
      {{4, 2, 16}, 6, 40, true, {5, 0}}, {{4, 2, 16}, 1, 40, true, {7, 50}},
      {{4, 4, 13}, 5, 37, false, {0, 2}}, {{2, 1, 64}, 9, 9, true, {100, 30}}};
  for (const Case& c : cases) {
    const int64_t q_dim = c.shape.heads * c.shape.head_dim;
    const int64_t kv_dim = c.shape.kv_heads * c.shape.head_dim;
    const auto q = test::random_floats(size_t(c.n * q_dim), 0.1f, 1.0f, 1);
    const auto k = test::random_floats(size_t(c.n_keys * kv_dim), -0.1f, 1.0f, 2);
    const auto v = test::random_floats(size_t(c.n_keys * kv_dim), 0.5f, 2.0f, 3);
    float vmax = 0;
    for (float x : v) vmax = std::max(vmax, std::fabs(x));
    const float scale = 1.0f / std::sqrt(float(c.shape.head_dim));
    std::vector<float> ref(size_t(c.n * q_dim)), got(ref.size());
    attention_ref(c.shape, q.data(), c.n, k.data(), v.data(), c.n_keys, c.causal, scale, ref.data(),
                  c.limits);
    for (const std::string& target : available_simd_targets()) {
      test::ScopedSimdTarget scoped(target);
      for (size_t threads : {1, 2}) {
        ThreadPool pool(threads);
        std::fill(got.begin(), got.end(), -1.0f);
        attention(c.shape, q.data(), c.n, k.data(), v.data(), c.n_keys, c.causal, scale, got.data(),
                  pool, c.limits);
        float worst = 0;
        for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs(got[i] - ref[i]));
        EXPECT_LE(worst, 2e-6f * vmax) << target << " threads " << threads << " heads "
                                       << c.shape.heads << " hd " << c.shape.head_dim << " n "
                                       << c.n << " keys " << c.n_keys;
      }
    }
  }
}

}  // namespace
}  // namespace wquant
