#include "wquant/calibrate/calibrate.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>

#include "parts.h"
#include "wquant/core/error.h"

namespace wquant {

using namespace calibration;

namespace {

// Quantizes one layer W [rows, cols] from its input's quantities: the
// weighted mse grid, then GPTQ on it; rows split over the pool.
PrecomputedLayer quantize_layer(const std::vector<float>& w,
                                const InputQuantities& input, const QuantScheme& scheme,
                                DType scale_dtype, const CalibrationOptions& options,
                                ThreadPool& pool) {
  const int64_t cols = int64_t(input.importance.size()), rows = int64_t(w.size()) / cols;
  const std::vector<double>& h = input.h;
  const std::vector<float>& importance = input.importance;

  PrecomputedLayer out;
  out.method = method_name(options.method);
  // The grid: error-minimising, weighted by the mean x^2 of each input.
  QuantizedTensor q = mse_grid(w, rows, cols, scheme, scale_dtype, importance.data(), pool);
  const int64_t min_rows = 8;
  if (uses_gptq(options.method)) {
    const GptqFactor& f = input.factor;
    if (f.ok) {
      out.damp_percent = f.damp_percent;
      if (f.damp_percent != options.gptq.damp_percent)
        out.note = "damping raised to " + std::to_string(f.damp_percent);
      pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
        gptq_rows(f, w.data(), options.gptq.block_size, r0, r1, q);
      }, min_rows);
    } else {
      out.method = "mse";
      out.note = "gptq fell back to mse: H + damping not positive definite";
    }
  }
  out.output_error = output_error(w, q, h, pool);
  out.q = std::move(q);
  return out;
}

}  // namespace

const char* method_name(QuantMethod method) {
  switch (method) {
    case QuantMethod::Rtn: return "rtn";
    case QuantMethod::Mse: return "mse";
    case QuantMethod::Gptq: return "gptq";
    case QuantMethod::Awq: return "awq";
    case QuantMethod::AwqGptq: return "awq-gptq";
  }
  return "?";
}

QuantMethod parse_method(const std::string& name) {
  if (name == "rtn") return QuantMethod::Rtn;
  if (name == "mse") return QuantMethod::Mse;
  if (name == "gptq") return QuantMethod::Gptq;
  if (name == "awq") return QuantMethod::Awq;
  if (name == "awq-gptq") return QuantMethod::AwqGptq;
  fail("--method ", name, ": expected rtn, mse, gptq, awq or awq-gptq");
}

CalibrationResult calibrate(const CheckpointReader& ckpt, const Plan& plan,
                            const std::vector<int32_t>& tokens, const CalibrationOptions& options,
                            const CalibrationProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  Session session = open_session(ckpt, tokens, options, std::numeric_limits<int64_t>::max());
  BlockModel* model = session.model.get();
  const int64_t windows = session.windows;
  std::set<std::string> planned;
  std::map<std::string, const TensorPlan*> plan_of;
  for (const auto& t : plan.tensors)
    if (t.quantize) planned.insert(t.layer), plan_of[t.layer] = &t;

  CalibrationResult result;
  result.windows = windows;
  result.tokens = windows * options.context;
  const int64_t L = session.context, width = session.width;
  const size_t window_floats = session.window_floats;
  std::vector<float>& x = session.x;
  std::vector<float> scratch(window_floats);

  // Which blocks hold planned layers: a probe of two tokens through every block.
  const int64_t blocks = model->num_blocks();
  std::vector<char> has_planned(static_cast<size_t>(blocks), 0);
  {
    std::vector<float> probe(size_t(2 * width));
    model->embed_window(tokens.data(), 2, probe.data());
    for (int64_t b = 0; b < blocks; ++b) {
      NamesHook names(planned);
      ScopedLinearHook scope(&names);
      model->block_window(b, probe.data(), 2);
      has_planned[size_t(b)] = names.seen;
    }
  }
  int64_t last = blocks - 1;
  while (last >= 0 && !has_planned[size_t(last)]) --last;

  ThreadPool pool;
  Smoothing smoothing;
  for (int64_t b = 0; b <= last; ++b) {
    if (!has_planned[size_t(b)]) {  // float block: only carry the windows through it
      for (int64_t w = 0; w < windows; ++w) model->block_window(b, x.data() + size_t(w) * window_floats, L);
      if (progress) progress(size_t(b + 1), size_t(last + 1), "block " + std::to_string(b));
      continue;
    }
    StatsHook stats(planned, pool);
    {
      ScopedLinearHook scope(&stats);
      for (int64_t w = 0; w < windows; ++w) {
        std::copy_n(x.data() + size_t(w) * window_floats, window_floats, scratch.data());
        stats.next_window();
        model->block_window(b, scratch.data(), L);
      }
    }
    if (uses_awq(options.method)) smooth_block(plan.rules, ckpt, stats, plan_of, plan.float_dtype, pool, smoothing);
    ReplaceHook quantized;
    std::map<const InputStats*, InputQuantities> inputs;
    for (const auto& layer : stats.layers()) {
      const TensorPlan& t = *plan_of.at(layer);
      const std::vector<float>& w = stats.weight(layer);
      const InputStats* s = &stats.stats(layer);
      if (!inputs.count(s)) inputs.emplace(s, input_quantities(*s, options, pool));
      PrecomputedLayer p = quantize_layer(w, inputs.at(s), t.scheme, plan.float_dtype,
                                          options, pool);
      const int64_t cols = p.q.cols, rows = p.q.rows;
      // The unfolded model runs on: diag(out_scale) dequantize(q) diag(1 / in_scale).
      std::vector<float> d = dequantize(p.q);
      if (const auto it = smoothing.in_scale.find(layer); it != smoothing.in_scale.end())
        for (size_t i = 0; i < d.size(); ++i) d[i] /= it->second[i % size_t(cols)];
      if (const auto it = smoothing.out_scale.find(layer); it != smoothing.out_scale.end())
        for (size_t i = 0; i < d.size(); ++i) d[i] *= it->second[i / size_t(cols)];
      quantized.set(layer, std::move(d), rows, cols);
      if (const auto it = smoothing.note.find(layer); it != smoothing.note.end())
        p.note = it->second + (p.note.empty() ? "" : "; " + p.note);
      result.layers.emplace(layer, std::move(p));
    }
    {
      ScopedLinearHook scope(&quantized);
      for (int64_t w = 0; w < windows; ++w) model->block_window(b, x.data() + size_t(w) * window_floats, L);
    }
    // The block's float weights are not read again: give back their mapped
    // pages (safetensors input; GGUF weights were dequantized into memory).
    for (const auto& layer : stats.layers()) ckpt.release(layer + ".weight");
    if (progress) progress(size_t(b + 1), size_t(last + 1), "block " + std::to_string(b));
  }
  result.tensor_scales = std::move(smoothing.tensor_scale);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace wquant
