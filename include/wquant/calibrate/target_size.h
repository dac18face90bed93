// --target-size: a quantization plan whose output fits a size, chosen layer
// by layer from a list of schemes by the cost each scheme has on
// calibration data (calibrate.h's measure_costs, budget.h's allocation).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wquant/calibrate/budget.h"
#include "wquant/calibrate/calibrate.h"
#include "wquant/io/checkpoint.h"
#include "wquant/pipeline/plan.h"

namespace wquant {

struct TargetSizeResult {
  Plan plan;                                  // each candidate with its chosen scheme, or float
  uint64_t target_bytes = 0;                  // the budget for model.safetensors
  uint64_t estimated_bytes = 0;               // what the chosen plan should write (a bound)
  std::map<std::string, std::string> notes;   // by layer: the choice and its cost, for the report
  nlohmann::json recipe;                      // target, options, per-layer choice and costs
  double seconds = 0;
};

// Returns `plan` fitted to `target` (parse_target_size's syntax). The
// candidates are the layers `plan` quantizes plus the token embeddings and
// lm_head unless --exclude named them; each gets one of `options` (float
// among them if listed) so that the summed cost is least within the budget.
// Costs are measured over at most `cost_windows` windows of `tokens`, their
// KL factors over the first kl_tokens of `kl_windows` (measure_costs).
// Throws Error for a target at or above the output's size with every
// candidate kept float, or below the smallest the options reach.
TargetSizeResult fit_to_size(const CheckpointReader& ckpt, Plan plan, const std::string& target,
                             const std::vector<BudgetOption>& options, const std::vector<int32_t>& tokens,
                             const CalibrationOptions& calibration, int64_t cost_windows, int64_t kl_windows,
                             int64_t kl_tokens,
                             const CalibrationProgress& progress = {});

}  // namespace wquant
