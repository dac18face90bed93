// AWQ (Lin et al. 2023): activation-aware per-channel scales, folded into
// the previous norm or linear layer so that the output stays a plain
// compressed-tensors checkpoint. See parts.h, smooth_block.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "parts.h"
#include "wquant/quant/grid_search.h"

namespace wquant::calibration {
namespace {

constexpr int kAlphaSteps = 10;  // alpha = 0, 0.1, ..., 0.9

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<float>& ones(std::map<std::string, std::vector<float>>& m, const std::string& key, size_t n) {
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(key, std::vector<float>(n, 1.0f)).first;
  return it->second;
}

// Returns tr(D H D^T), D = W - dequantize(Q(W diag s)) diag(1/s), on the mse
// grid of `scheme` weighted by importance / s^2.
double smoothed_error(const std::vector<float>& w, int64_t rows, int64_t cols, const std::vector<float>& s,
                      const std::vector<float>& importance, const std::vector<float>& h,
                      const QuantScheme& scheme, DType scale_dtype, ThreadPool& pool) {
  std::vector<float> ws(w.size()), imp(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) ws[size_t(r * cols + c)] = w[size_t(r * cols + c)] * s[size_t(c)];
  for (int64_t c = 0; c < cols; ++c) imp[size_t(c)] = importance[size_t(c)] / (s[size_t(c)] * s[size_t(c)]);
  std::vector<float> d = dequantize(mse_grid(ws, rows, cols, scheme, scale_dtype, imp.data(), pool));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const size_t i = size_t(r * cols + c);
      d[i] = w[i] - d[i] / s[size_t(c)];
    }
  return quadratic_form(d, rows, cols, h, pool);
}

}  // namespace

void smooth_block(const ArchRules& rules, const CheckpointReader& ckpt, StatsHook& stats,
                  const std::map<std::string, const TensorPlan*>& plan_of, DType scale_dtype, ThreadPool& pool,
                  Smoothing& out) {
  if (rules.smoothing.empty())
    for (const auto& l : stats.layers()) out.note[l] = "awq: no smoothing pairs for model_type " + rules.model_type;
  for (const SmoothingRule& rule : rules.smoothing) {
    // This block's prefix, from the first layer of the pair that it observed.
    std::string prefix;
    for (const auto& l : stats.layers())
      if (ends_with(l, "." + rule.layers[0])) prefix = l.substr(0, l.size() - rule.layers[0].size());
    if (prefix.empty()) continue;
    std::vector<std::string> layers;
    bool usable = true;
    for (const auto& suffix : rule.layers) {
      layers.push_back(prefix + suffix);
      usable = usable && stats.has(layers.back());
    }
    const std::string previous = prefix + rule.previous;
    if (!usable) {
      for (const auto& l : layers) out.note[l] = "awq: pair not all quantized, not smoothed";
      continue;
    }
    // The pair's layers read one input: shared statistics, or (a call between
    // them, as CodeGen's attention between qkv_proj and fc_in) equal ones.
    InputStats& input = stats.stats(layers[0]);
    const int64_t cols = input.in;
    std::set<InputStats*> inputs;
    for (const auto& l : layers) {
      InputStats& other = stats.stats(l);
      usable = usable && other.in == input.in && other.tokens == input.tokens;
      inputs.insert(&other);
    }
    if (rule.previous_is_linear)
      usable = usable && stats.has(previous) && int64_t(stats.weight(previous).size()) % cols == 0 &&
               int64_t(stats.weight(previous).size()) / cols == int64_t(stats.stats(previous).in);
    else
      usable = usable && ckpt.has(previous + ".weight") && numel(ckpt.info(previous + ".weight").shape) == cols;
    if (!usable || input.tokens == 0) {
      for (const auto& l : layers) out.note[l] = "awq: " + rule.previous + " does not match, not smoothed";
      continue;
    }

    // m: root mean square of each input channel; H = 2 X^T X / n in f32.
    std::vector<float> rms(static_cast<size_t>(cols)), importance(static_cast<size_t>(cols)), h(input.xtx.size());
    for (int64_t c = 0; c < cols; ++c) {
      importance[size_t(c)] = float(input.xtx[size_t(c * cols + c)] / double(input.tokens));
      rms[size_t(c)] = std::sqrt(std::max(importance[size_t(c)], 0.0f));
    }
    for (size_t i = 0; i < h.size(); ++i) h[i] = float(2.0 * input.xtx[i] / double(input.tokens));
    const float top = *std::max_element(rms.begin(), rms.end());
    for (auto& m : rms) m = std::max(m, top * 1e-5f + 1e-12f);

    auto scales = [&](double alpha) {
      std::vector<float> s(static_cast<size_t>(cols));
      for (int64_t c = 0; c < cols; ++c) s[size_t(c)] = float(std::pow(double(rms[size_t(c)]), alpha));
      const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
      const float norm = std::sqrt(*lo * *hi);
      for (auto& v : s) v /= norm;
      return s;
    };
    double best_error = 0;
    int best = 0;
    for (int a = 0; a < kAlphaSteps; ++a) {
      const std::vector<float> s = scales(a / double(kAlphaSteps));
      double error = 0;
      for (const auto& l : layers) {
        const std::vector<float>& w = stats.weight(l);
        error += smoothed_error(w, int64_t(w.size()) / cols, cols, s, importance, h, plan_of.at(l)->scheme,
                                scale_dtype, pool);
      }
      if (a == 0 || error < best_error) best_error = error, best = a;
    }
    char note[64];
    std::snprintf(note, sizeof note, "awq alpha %.1f (pair %s)", best / double(kAlphaSteps), rule.previous.c_str());
    for (const auto& l : layers) out.note[l] = note;
    if (best == 0) continue;  // s = 1: nothing to fold

    // Fold: the layers' columns times s, their inputs divided by s.
    const std::vector<float> s = scales(best / double(kAlphaSteps));
    for (const auto& l : layers) {
      std::vector<float>& w = stats.weight(l);
      for (size_t i = 0; i < w.size(); ++i) w[i] *= s[i % size_t(cols)];
      std::vector<float>& in = ones(out.in_scale, l, size_t(cols));
      for (int64_t c = 0; c < cols; ++c) in[size_t(c)] *= s[size_t(c)];
    }
    for (InputStats* in : inputs)
      for (int64_t i = 0; i < cols; ++i)
        for (int64_t j = 0; j < cols; ++j) in->xtx[size_t(i * cols + j)] /= double(s[size_t(i)]) * double(s[size_t(j)]);
    auto divide_tensor = [&](const std::string& tensor) {
      if (!ckpt.has(tensor)) return;
      std::vector<float>& t = ones(out.tensor_scale, tensor, size_t(cols));
      for (int64_t c = 0; c < cols; ++c) t[size_t(c)] /= s[size_t(c)];
    };
    if (rule.previous_is_linear) {  // its output rows divided by s, restored by out_scale at run time
      std::vector<float>& w = stats.weight(previous);
      const size_t in = size_t(stats.stats(previous).in);
      for (size_t i = 0; i < w.size(); ++i) w[i] /= s[i / in];
      std::vector<float>& o = ones(out.out_scale, previous, size_t(cols));
      for (int64_t c = 0; c < cols; ++c) o[size_t(c)] *= s[size_t(c)];
    } else {
      divide_tensor(previous + ".weight");
    }
    divide_tensor(previous + ".bias");
  }
}

}  // namespace wquant::calibration
