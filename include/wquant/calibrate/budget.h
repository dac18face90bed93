// Mixed precision to a size budget (--target-size): every candidate layer
// gets one scheme from a list (or stays float) so that the checkpoint fits
// a byte budget and the summed estimated cost of the layers is least.
//
// The cost of a layer under a scheme is measured on calibration data
// (calibrate.h, measure_costs): the squared relative output error
// ||(W - Q) X||^2 / ||W X||^2 the scheme gives it, every layer counting
// alike. The choice is the classic greedy on each layer's lower convex hull
// of (bytes, cost): start every layer at its smallest option and repeatedly
// take the upgrade that removes the most cost per byte added while it fits.
// On the hulls that is optimal for the budget up to the last upgrade that
// did not fit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wquant/quant/scheme.h"

namespace wquant {

// One choice a layer may get: a scheme, or the float dtype (`keep_float`).
struct BudgetOption {
  std::string text;  // as given: "w4-g32-asym", "float"
  bool keep_float = false;
  QuantScheme scheme;  // when !keep_float
};

// The options when --target-schemes is not given.
extern const char* const kDefaultBudgetSchemes;

// Returns the options of a comma-separated list of schemes (plan.h's
// parse_scheme syntax, unspecified parts from `base`) and "float". Throws
// Error naming a bad entry, a repeated one, or an empty list.
std::vector<BudgetOption> parse_budget_options(const std::string& list, const QuantScheme& base);

// Returns the budget in bytes for --target-size TEXT: "105.5" or "105.5MB"
// (10^6 bytes), "100MiB" (2^20), "3.5GB" (10^9), "3GiB" (2^30), "4.5bpw"
// (bits per weight of the candidate
// layers, plus `fixed_bytes` for the rest). Throws Error for anything else
// or a value that is not a positive finite number.
uint64_t parse_target_size(const std::string& text, uint64_t candidate_weights, uint64_t fixed_bytes);

// What one layer may become: for each option, its bytes in the output and
// its cost (cost < 0 or bytes 0: not available to this layer).
struct BudgetLayer {
  std::string layer;
  std::vector<uint64_t> bytes;
  std::vector<double> cost;
};

struct BudgetChoice {
  std::vector<size_t> option;  // per layer, the index of its option
  uint64_t bytes = 0;          // sum over the layers
  double cost = 0;             // sum over the layers
};

// Returns the options of least summed cost whose bytes sum to at most
// `budget`. Deterministic (ties go to the earlier layer). Throws Error if
// even the smallest option of every layer exceeds the budget, naming both.
BudgetChoice allocate_budget(const std::vector<BudgetLayer>& layers, uint64_t budget);

}  // namespace wquant
