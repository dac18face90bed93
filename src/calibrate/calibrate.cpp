#include "wquant/calibrate/calibrate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <set>

#include "wquant/core/error.h"
#include "wquant/kernels/linear.h"
#include "wquant/kernels/thread_pool.h"
#include "wquant/models/causal_lm.h"
#include "wquant/models/linear.h"
#include "wquant/quant/grid_search.h"
#include "wquant/quant/quantize.h"

namespace wquant {
namespace {

// Sum of x x^T over the observed tokens of one distinct layer input.
struct InputStats {
  int64_t in = 0;
  int64_t tokens = 0;
  std::vector<double> xtx;  // [in, in]
};

// Observes the planned layers of one block: accumulates X^T X per distinct
// input (q/k/v and gate/up share theirs: a layer whose input equals, value
// for value, the previous observed call's shares its statistics), and keeps
// each layer's float weight for quantization.
class StatsHook : public LinearHook {
 public:
  StatsHook(const std::set<std::string>& planned, ThreadPool& pool) : planned_(planned), pool_(pool) {}

  void observe(const Linear& layer, const float* x, int64_t n) override {
    if (!planned_.count(layer.name())) return;
    const int64_t in = layer.in_features();
    if (!weights_.count(layer.name())) {
      std::vector<float> w(size_t(layer.out_features() * in));
      for (int64_t r = 0; r < layer.out_features(); ++r) layer.row(r, w.data() + r * in);
      weights_[layer.name()] = std::move(w);
      order_.push_back(layer.name());
    }
    // Shared with the previous call: only if that is how the layer has been
    // seen so far (a layer with statistics of its own keeps accumulating them).
    const auto known = input_of_.find(layer.name());
    const bool same_as_last = n == last_n_ && in == last_in_ &&
                              (known == input_of_.end() || known->second == last_index_) &&
                              std::memcmp(x, last_input_.data(), size_t(n * in) * sizeof(float)) == 0;
    if (same_as_last) {
      input_of_.emplace(layer.name(), last_index_);
      return;
    }
    auto [it, added] = input_of_.emplace(layer.name(), stats_.size());
    if (added) stats_.push_back(InputStats{in, 0, std::vector<double>(size_t(in * in), 0.0)});
    accumulate(stats_[it->second], x, n);
    last_index_ = it->second;
    last_n_ = n;
    last_in_ = in;
    last_input_.assign(x, x + n * in);
  }

  const WeightMatrix* replacement(const Linear&) override { return nullptr; }

  // Forgets the previous call: a window's first layer never shares the
  // previous window's input.
  void next_window() { last_n_ = -1; }

  const std::vector<std::string>& layers() const { return order_; }
  const std::vector<float>& weight(const std::string& layer) const { return weights_.at(layer); }
  const InputStats& stats(const std::string& layer) const { return stats_[input_of_.at(layer)]; }
  size_t distinct_inputs() const { return stats_.size(); }

 private:
  // xtx += X^T X for X [n, in]: the kernels' matmul of X^T [in, n] by itself.
  void accumulate(InputStats& s, const float* x, int64_t n) {
    const int64_t in = s.in;
    xt_.resize(size_t(in * n));
    for (int64_t t = 0; t < n; ++t)
      for (int64_t c = 0; c < in; ++c) xt_[size_t(c * n + t)] = x[t * in + c];
    product_.resize(size_t(in * in));
    const WeightMatrix m = FloatMatrixView{DType::F32, in, n, xt_.data()};
    matmul(m, xt_.data(), DType::F32, in, nullptr, product_.data(), pool_);
    for (size_t i = 0; i < product_.size(); ++i) s.xtx[i] += double(product_[i]);
    s.tokens += n;
  }

  const std::set<std::string>& planned_;
  ThreadPool& pool_;
  std::map<std::string, std::vector<float>> weights_;
  std::vector<std::string> order_;
  std::map<std::string, size_t> input_of_;
  std::vector<InputStats> stats_;
  std::vector<float> xt_, product_, last_input_;
  int64_t last_n_ = -1, last_in_ = -1;
  size_t last_index_ = 0;
};

// Records the planned layers that run.
class NamesHook : public LinearHook {
 public:
  explicit NamesHook(const std::set<std::string>& planned) : planned_(planned) {}
  void observe(const Linear& layer, const float*, int64_t) override {
    if (planned_.count(layer.name())) seen = true;
  }
  const WeightMatrix* replacement(const Linear&) override { return nullptr; }
  bool seen = false;

 private:
  const std::set<std::string>& planned_;
};

// Runs each layer on its quantized weight (dequantized to f32).
class ReplaceHook : public LinearHook {
 public:
  void observe(const Linear&, const float*, int64_t) override {}
  const WeightMatrix* replacement(const Linear& layer) override {
    auto it = matrices_.find(layer.name());
    return it == matrices_.end() ? nullptr : &it->second;
  }
  void set(const std::string& layer, std::vector<float> w, int64_t rows, int64_t cols) {
    storage_[layer] = std::move(w);
    matrices_[layer] = FloatMatrixView{DType::F32, rows, cols, storage_[layer].data()};
  }

 private:
  std::map<std::string, std::vector<float>> storage_;
  std::map<std::string, WeightMatrix> matrices_;
};

// Returns ||(W - Q) X|| / ||W X|| = sqrt(tr(D H D^T) / tr(W H W^T)),
// D = W - dequantize(q): gptq.h's relative_output_error, with the products
// H d_r on the kernels' matmul (H rounded to f32: a figure for the report,
// not an input to anything). Independent of the thread count.
double output_error(const std::vector<float>& w, const QuantizedTensor& q,
                    const std::vector<double>& h, ThreadPool& pool) {
  const int64_t rows = q.rows, cols = q.cols;
  std::vector<float> hf(h.begin(), h.end()), d = dequantize(q), hd(size_t(rows * cols));
  for (size_t i = 0; i < d.size(); ++i) d[i] = w[i] - d[i];
  const WeightMatrix hm = FloatMatrixView{DType::F32, cols, cols, hf.data()};
  auto quadratic = [&](const std::vector<float>& m) {
    matmul(hm, m.data(), DType::F32, rows, nullptr, hd.data(), pool);
    double total = 0;
    for (size_t i = 0; i < m.size(); ++i) total += double(m[i]) * double(hd[i]);
    return total;
  };
  const double e = quadratic(d), s = quadratic(w);
  return s > 0 ? std::sqrt(std::max(0.0, e) / s) : 0.0;
}

// What the layers sharing one input need of it: H = 2 X^T X / n, the
// per-channel importance mean x^2 = diag(H) / 2, and GPTQ's factor of H.
struct InputQuantities {
  std::vector<double> h;
  std::vector<float> importance;
  GptqFactor factor;
};

InputQuantities input_quantities(const InputStats& stats, const CalibrationOptions& options,
                                 ThreadPool& pool) {
  const int64_t cols = stats.in;
  InputQuantities q;
  q.h.resize(stats.xtx.size());
  for (size_t i = 0; i < q.h.size(); ++i) q.h[i] = 2.0 * stats.xtx[i] / double(stats.tokens);
  q.importance.resize(size_t(cols));
  for (int64_t c = 0; c < cols; ++c) q.importance[size_t(c)] = float(q.h[size_t(c * cols + c)] / 2.0);
  if (options.method == QuantMethod::Gptq)
    q.factor = gptq_factor(q.h.data(), cols, options.gptq,
                           [&](int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
                             pool.parallel_for(n, fn, 32);
                           });
  return q;
}

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
  QuantizedTensor q = mse_output_for(rows, cols, scheme);
  const int64_t min_rows = 8;
  if (scheme.granularity == Granularity::PerTensor)
    quantize_mse_rows(w.data(), rows, cols, scheme, scale_dtype, importance.data(), 0, rows, q);
  else
    pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
      quantize_mse_rows(w.data(), rows, cols, scheme, scale_dtype, importance.data(), r0, r1, q);
    }, min_rows);
  if (options.method == QuantMethod::Gptq) {
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
  }
  return "?";
}

QuantMethod parse_method(const std::string& name) {
  if (name == "rtn") return QuantMethod::Rtn;
  if (name == "mse") return QuantMethod::Mse;
  if (name == "gptq") return QuantMethod::Gptq;
  fail("--method ", name, ": expected rtn, mse or gptq");
}

CalibrationResult calibrate(const CheckpointReader& ckpt, const Plan& plan,
                            const std::vector<int32_t>& tokens, const CalibrationOptions& options,
                            const CalibrationProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  if (options.method == QuantMethod::Rtn)
    fail("calibrate: rtn uses no calibration (drop --calibration, or choose --method mse or gptq)");
  if (options.context < 2) fail("--calibration-context ", options.context, ": must be at least 2");
  const int64_t usable = std::min<int64_t>(int64_t(tokens.size()), std::max<int64_t>(options.max_tokens, 0));
  const int64_t windows = usable / options.context;
  if (windows < 1)
    fail(options.text_name, ": ", usable, " tokens",
         usable < int64_t(tokens.size()) ? " allowed by --calibration-tokens" : "",
         ", less than one window of ", options.context, " (--calibration-context)");
  const auto& config = ckpt.config();
  const std::string type = config.is_object() && config.contains("model_type") && config["model_type"].is_string()
                               ? config["model_type"].get<std::string>()
                               : "";
  const auto runnable = supported_causal_lms();
  if (std::find(runnable.begin(), runnable.end(), type) == runnable.end()) {
    std::string list;
    for (const auto& s : runnable) list += (list.empty() ? "" : ", ") + s;
    fail(ckpt.path(), ": --method ", method_name(options.method), " --calibration runs the model, and model_type '",
         type, "' cannot be run (supported: ", list, "); use --method mse without --calibration");
  }
  std::unique_ptr<CausalLM> model = load_causal_lm(ckpt, options.context);
  if (model->context_length() < options.context)
    fail(ckpt.path(), ": --calibration-context ", options.context, " exceeds the model's context of ",
         model->context_length());

  std::set<std::string> planned;
  std::map<std::string, const TensorPlan*> plan_of;
  for (const auto& t : plan.tensors)
    if (t.quantize) planned.insert(t.layer), plan_of[t.layer] = &t;

  CalibrationResult result;
  result.windows = windows;
  result.tokens = windows * options.context;
  const int64_t L = options.context, width = model->hidden_width();
  const size_t window_floats = size_t(L * width);
  std::vector<float> x(size_t(windows) * window_floats), scratch(window_floats);
  for (int64_t w = 0; w < windows; ++w)
    model->embed_window(tokens.data() + w * L, L, x.data() + size_t(w) * window_floats);

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
      quantized.set(layer, dequantize(p.q), rows, cols);
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
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace wquant
