#include "wquant/calibrate/target_size.h"

#include <chrono>
#include <cctype>
#include <cstdio>

#include "wquant/core/error.h"
#include "wquant/pipeline/quantize_model.h"

namespace wquant {
namespace {

std::string megabytes(uint64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f MB", double(bytes) / 1e6);
  return buf;
}

// "f32", "bf16": as --dtype spells them.
std::string dtype_flag(DType d) {
  std::string s(dtype_name(d));
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", v);
  return buf;
}

// Whether t may join the choice though the default rules keep it float:
// a token embedding or lm_head matrix the user did not --exclude.
bool extra_candidate(const CheckpointReader& ckpt, const TensorPlan& t) {
  return !t.quantize && (t.cls.role == TensorRole::Embedding || t.cls.role == TensorRole::LmHead) &&
         t.shape.size() == 2 && is_float(ckpt.info(t.tensor).dtype) &&
         t.reason.rfind("excluded by --exclude", 0) != 0;
}

}  // namespace

TargetSizeResult fit_to_size(const CheckpointReader& ckpt, Plan plan, const std::string& target,
                             const std::vector<BudgetOption>& options, const std::vector<int32_t>& tokens,
                             const CalibrationOptions& calibration, int64_t cost_windows, int64_t kl_windows,
                             int64_t kl_tokens,
                             const CalibrationProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  QuantScheme first;  // a placeholder scheme for the extra candidates until the choice
  bool any_scheme = false;
  for (const auto& o : options)
    if (!o.keep_float && !any_scheme) first = o.scheme, any_scheme = true;
  if (!any_scheme) fail("--target-schemes: no quantization scheme listed, only float");

  std::vector<size_t> candidates;
  uint64_t fixed = 64, float_total = 64, weights = 0;
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    TensorPlan& t = plan.tensors[i];
    if (extra_candidate(ckpt, t)) {
      if (const auto s = fitted_scheme(t, first)) {
        t.quantize = true;
        t.scheme = *s;
        t.reason = std::string(t.cls.role == TensorRole::LmHead ? "lm_head" : "embedding") + ", a candidate for --target-size";
      }
    }
    TensorPlan as_float = t;
    as_float.quantize = false;
    const uint64_t float_bytes = planned_tensor_bytes(ckpt, as_float, plan.float_dtype);
    float_total += float_bytes;
    if (t.quantize) {
      candidates.push_back(i);
      weights += uint64_t(numel(t.shape));
    } else {
      fixed += float_bytes;
    }
  }
  if (candidates.empty()) fail(ckpt.path(), ": --target-size: no layer to choose a scheme for");

  // Bytes of every option for every candidate (0: does not fit the layer).
  std::vector<BudgetLayer> layers;
  uint64_t smallest = fixed;
  for (const size_t i : candidates) {
    const TensorPlan& t = plan.tensors[i];
    BudgetLayer l;
    l.layer = t.layer;
    uint64_t least = 0;
    for (const auto& o : options) {
      TensorPlan as = t;
      as.quantize = !o.keep_float;
      if (!o.keep_float) {
        const auto s = fitted_scheme(t, o.scheme);
        if (!s) {
          l.bytes.push_back(0);
          continue;
        }
        as.scheme = *s;
      }
      l.bytes.push_back(planned_tensor_bytes(ckpt, as, plan.float_dtype));
      if (least == 0 || l.bytes.back() < least) least = l.bytes.back();
    }
    if (least == 0) fail("--target-size: no listed scheme fits layer ", t.layer, " ", shape_str(t.shape));
    smallest += least;
    layers.push_back(std::move(l));
  }
  const uint64_t budget = parse_target_size(target, weights, fixed);
  if (budget >= float_total)
    fail("--target-size ", target, ": ", megabytes(budget), " is not below the output with every candidate layer in ",
         dtype_flag(plan.float_dtype), ", ", megabytes(float_total), "; nothing to choose");
  if (budget < smallest)
    fail("--target-size ", target, ": ", megabytes(budget), " is below the smallest the schemes reach, ",
         megabytes(smallest), " (every layer at its smallest of --target-schemes)");

  const LayerCosts costs = measure_costs(ckpt, plan, tokens, calibration, options, cost_windows, kl_windows, kl_tokens, progress);
  for (size_t k = 0; k < candidates.size(); ++k) {
    const auto it = costs.cost.find(layers[k].layer);
    if (it == costs.cost.end()) fail("--target-size: no cost measured for layer ", layers[k].layer);
    layers[k].cost = it->second;
  }
  const BudgetChoice choice = allocate_budget(layers, budget - fixed);

  TargetSizeResult r;
  r.target_bytes = budget;
  r.estimated_bytes = fixed + choice.bytes;
  nlohmann::json per_layer = nlohmann::json::object(), counts = nlohmann::json::object();
  for (size_t k = 0; k < candidates.size(); ++k) {
    TensorPlan& t = plan.tensors[candidates[k]];
    const BudgetLayer& l = layers[k];
    const size_t o = choice.option[k];
    // The next smaller option this layer could have had, for the report.
    size_t smaller = o;
    for (size_t j = 0; j < options.size(); ++j)
      if (l.bytes[j] > 0 && l.cost[j] >= 0 && l.bytes[j] < l.bytes[o] &&
          (smaller == o || l.bytes[j] > l.bytes[smaller]))
        smaller = j;
    std::string note = "size: " + options[o].text + " cost " + short_number(l.cost[o]);
    if (smaller != o) note += " (" + options[smaller].text + ": " + short_number(l.cost[smaller]) + ")";
    if (options[o].keep_float) {
      t.quantize = false;
      t.reason = "kept " + dtype_flag(plan.float_dtype) + " by --target-size (" + note + ")";
    } else {
      std::string fit_note;
      t.scheme = *fitted_scheme(t, options[o].scheme, &fit_note);
      t.reason += fit_note;
    }
    r.notes[t.layer] = note;
    nlohmann::json costs_json = nlohmann::json::object();
    for (size_t j = 0; j < options.size(); ++j)
      if (l.bytes[j] > 0 && l.cost[j] >= 0) costs_json[options[j].text] = {{"bytes", l.bytes[j]}, {"cost", l.cost[j]}};
    per_layer[t.layer] = {{"choice", options[o].text}, {"factor", costs.factor.at(t.layer)}, {"options", costs_json}};
    counts[options[o].text] = counts.value(options[o].text, 0) + 1;
  }
  std::vector<std::string> texts;
  for (const auto& o : options) texts.push_back(o.text);
  r.recipe = {{"target", target},
              {"target_bytes", budget},
              {"estimated_bytes", r.estimated_bytes},
              {"schemes", texts},
              {"cost", "estimated KL divergence: factor x ||(W-Q)X||^2/||WX||^2 on the float model's "
                       "calibration inputs (mse grid); factor = measured KL / relative error of the "
                       "option of median size"},
              {"cost_windows", costs.windows},
              {"kl_windows", costs.kl_windows},
              {"kl_tokens_per_window", costs.kl_tokens},
              {"cost_tokens", costs.tokens},
              {"cost_seconds", costs.seconds},
              {"chosen", counts},
              {"layers", per_layer}};
  r.plan = std::move(plan);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace wquant
