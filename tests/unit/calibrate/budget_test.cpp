// budget.h: the size-budget allocation and the parsers of --target-size and
// --target-schemes.
#include "wquant/calibrate/budget.h"

#include <random>

#include <gtest/gtest.h>

#include "wquant/core/error.h"

namespace wquant {
namespace {

// Every allocation of `layers` by brute force: the least cost within `budget`.
double best_by_brute_force(const std::vector<BudgetLayer>& layers, uint64_t budget) {
  double best = 1e300;
  std::vector<size_t> at(layers.size(), 0);
  while (true) {
    uint64_t bytes = 0;
    double cost = 0;
    for (size_t i = 0; i < layers.size(); ++i) bytes += layers[i].bytes[at[i]], cost += layers[i].cost[at[i]];
    if (bytes <= budget) best = std::min(best, cost);
    size_t i = 0;
    while (i < layers.size() && ++at[i] == layers[i].bytes.size()) at[i++] = 0;
    if (i == layers.size()) return best;
  }
}

// Options as a scheme list gives them: more bytes, less cost (convex or not).
std::vector<BudgetLayer> random_layers(std::mt19937& rng, size_t n, size_t options) {
  std::vector<BudgetLayer> layers(n);
  std::uniform_int_distribution<uint64_t> size(100, 10000);
  std::uniform_real_distribution<double> unit(0.05, 1.0);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t base = size(rng);
    double cost = unit(rng) * 10;
    for (size_t o = 0; o < options; ++o) {
      layers[i].bytes.push_back(base * (o + 1) / 2 + 1);
      layers[i].cost.push_back(o + 1 == options ? 0.0 : cost);
      cost *= unit(rng);
    }
    layers[i].layer = "layer" + std::to_string(i);
  }
  return layers;
}

TEST(Budget, FitsAndIsNearTheOptimum) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const auto layers = random_layers(rng, 5, 4);
    uint64_t least = 0, most = 0;
    for (const auto& l : layers) least += l.bytes.front(), most += l.bytes.back();
    const uint64_t budget = least + (most - least) * uint64_t(trial % 10) / 10;
    const BudgetChoice c = allocate_budget(layers, budget);
    uint64_t bytes = 0;
    double cost = 0;
    for (size_t i = 0; i < layers.size(); ++i) bytes += layers[i].bytes[c.option[i]], cost += layers[i].cost[c.option[i]];
    EXPECT_EQ(bytes, c.bytes);
    EXPECT_NEAR(cost, c.cost, 1e-9 * (1 + cost));
    EXPECT_LE(c.bytes, budget);
    // Greedy on the hulls is optimal at the budgets it stops exactly on;
    // between them its gap is below one layer's whole cost range (the bound
    // of the greedy for multiple-choice knapsacks).
    const double optimum = best_by_brute_force(layers, budget);
    EXPECT_GE(cost, optimum - 1e-12);
    double largest_step = 0;
    for (const auto& l : layers) largest_step = std::max(largest_step, l.cost.front());
    EXPECT_LE(cost, optimum + largest_step) << "trial " << trial;
  }
}

TEST(Budget, ExactOnUniformLayers) {
  // Identical layers: the optimum at k upgrades is any k of them upgraded.
  std::vector<BudgetLayer> layers(6, BudgetLayer{"l", {100, 200, 400}, {9.0, 2.0, 0.0}});
  for (uint64_t budget : {600u, 900u, 1200u, 1700u, 2400u}) {
    const BudgetChoice c = allocate_budget(layers, budget);
    EXPECT_DOUBLE_EQ(c.cost, best_by_brute_force(layers, budget)) << budget;
  }
}

TEST(Budget, BoundsAndDominatedOptions) {
  std::vector<BudgetLayer> layers = {{"a", {100, 150, 200, 400}, {5.0, 6.0, 1.0, 0.0}},
                                     {"b", {100, 300}, {3.0, 0.0}}};
  // Everything fits: each layer's cheapest cost.
  BudgetChoice all = allocate_budget(layers, 10000);
  EXPECT_EQ(all.option, (std::vector<size_t>{3, 1}));
  // The smallest total: option 150 costs more than 100 and is never taken.
  BudgetChoice least = allocate_budget(layers, 200);
  EXPECT_EQ(least.option, (std::vector<size_t>{0, 0}));
  for (uint64_t b = 200; b < 700; b += 10) EXPECT_NE(allocate_budget(layers, b).option[0], 1u) << b;
  EXPECT_THROW(allocate_budget(layers, 199), Error);
  // An option marked unavailable (bytes 0 or cost < 0) is never chosen.
  layers[1].bytes[0] = 0;
  EXPECT_EQ(allocate_budget(layers, 10000).option[1], 1u);
  layers[1].cost[1] = -1;
  EXPECT_THROW(allocate_budget(layers, 10000), Error);  // no option left for b
}

TEST(Budget, TiesGoToTheEarlierLayer) {
  std::vector<BudgetLayer> layers(3, BudgetLayer{"l", {100, 200}, {1.0, 0.0}});
  EXPECT_EQ(allocate_budget(layers, 400).option, (std::vector<size_t>{1, 0, 0}));
  EXPECT_EQ(allocate_budget(layers, 500).option, (std::vector<size_t>{1, 1, 0}));
}

TEST(BudgetParse, TargetSize) {
  EXPECT_EQ(parse_target_size("105.5", 0, 0), 105500000u);
  EXPECT_EQ(parse_target_size("105.5MB", 0, 0), 105500000u);
  EXPECT_EQ(parse_target_size("2mb", 0, 0), 2000000u);
  EXPECT_EQ(parse_target_size("1MiB", 0, 0), 1048576u);
  EXPECT_EQ(parse_target_size("3.5GB", 0, 0), 3500000000u);
  EXPECT_EQ(parse_target_size("2GiB", 0, 0), 2147483648u);
  // 4.5 bits for each of 1000 weights + 77 bytes for the rest.
  EXPECT_EQ(parse_target_size("4.5bpw", 1000, 77), 562u + 77u);
  for (const char* bad : {"", "MB", "-1", "0", "nan", "inf", "1e30", "5TB", "4.5 bpw", "99bpw", "1,5"})
    EXPECT_THROW(parse_target_size(bad, 1000, 0), Error) << bad;
}

TEST(BudgetParse, Options) {
  QuantScheme base;
  const auto o = parse_budget_options(kDefaultBudgetSchemes, base);
  ASSERT_EQ(o.size(), 7u);
  EXPECT_EQ(o[0].scheme.bits, 8);
  EXPECT_TRUE(o[0].scheme.symmetric);
  EXPECT_EQ(o[1].scheme.group_size, 32);
  EXPECT_FALSE(o[1].scheme.symmetric);
  EXPECT_TRUE(o[6].keep_float);
  EXPECT_EQ(parse_budget_options(" w4-g32 , float ", base).size(), 2u);
  for (const char* bad : {"", "w4,", ",w4", "w4,,w8", "w4-g32,w4-g32", "float,float", "w5", "w4-zz"})
    EXPECT_THROW(parse_budget_options(bad, base), Error) << bad;
}

}  // namespace
}  // namespace wquant
