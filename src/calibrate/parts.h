// The pieces calibration is made of, shared by calibrate.cpp (sequential
// quantization) and costs.cpp (--target-size's costs): hooks that observe
// and replace linear layers, the calibration session (model and windows),
// and the quantities a layer input gives. Internal to the calibrate layer.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "wquant/calibrate/calibrate.h"
#include "wquant/kernels/linear.h"
#include "wquant/kernels/thread_pool.h"
#include "wquant/models/block_model.h"
#include "wquant/models/linear.h"
#include "wquant/pipeline/arch_rules.h"
#include "wquant/pipeline/plan.h"
#include "wquant/quant/gptq.h"
#include "wquant/quant/quantize.h"

namespace wquant::calibration {

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
  // For AWQ, which scales weights and their inputs in place.
  std::vector<float>& weight(const std::string& layer) { return weights_.at(layer); }
  InputStats& stats(const std::string& layer) { return stats_[input_of_.at(layer)]; }
  bool has(const std::string& layer) const { return weights_.count(layer) > 0; }
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
                    const std::vector<double>& h, ThreadPool& pool);

// Returns w [rows, cols] on grid_search.h's error-minimising grid, columns
// weighted by importance (nullptr: alike); rows split over the pool.
QuantizedTensor mse_grid(const std::vector<float>& w, int64_t rows, int64_t cols, const QuantScheme& scheme,
                         DType scale_dtype, const float* importance, ThreadPool& pool);

// What the layers sharing one input need of it: H = 2 X^T X / n, the
// per-channel importance mean x^2 = diag(H) / 2, and GPTQ's factor of H.
struct InputQuantities {
  std::vector<double> h;
  std::vector<float> importance;
  GptqFactor factor;
};

// Returns H, the importance and (gptq) the factor of one input's statistics.
InputQuantities input_quantities(const InputStats& stats, const CalibrationOptions& options,
                                 ThreadPool& pool);

// Returns tr(D H D^T) for D [rows, cols] (H [cols, cols] rounded to f32), on
// the kernels' matmul.
double quadratic_form(const std::vector<float>& d, int64_t rows, int64_t cols, const std::vector<float>& h,
                      ThreadPool& pool);

// What AWQ folded: scales per layer and per float tensor (awq.cpp).
struct Smoothing {
  // By layer: the quantized weight's columns were multiplied by in_scale and
  // its rows divided by out_scale; dequantized, diag(out) Q diag(1 / in) is
  // the layer as the unfolded model runs it.
  std::map<std::string, std::vector<float>> in_scale, out_scale;
  // By float tensor name (norm weights and biases, a previous layer's bias):
  // multiply element by element when writing.
  std::map<std::string, std::vector<float>> tensor_scale;
  // By layer: the alpha chosen for its pair, or why it has none.
  std::map<std::string, std::string> note;
};

// AWQ on one block: for each of the rules' smoothing pairs whose layers the
// block observed (and planned), searches s = m^alpha (m: the inputs' root
// mean square per channel, alpha = 0, 0.1, ..., 0.9, s normalised to
// geometric mean of its extremes 1) for the least summed output error
// tr(D H D^T), D = W - Q(W diag s) diag(1/s), of the pair's layers on the mse
// grid, and folds the best into `stats`' weights and statistics (columns
// times s, X^T X divided by s s^T, the previous linear layer's rows divided
// by s) and into `out`. alpha = 0 (s = 1) folds nothing.
void smooth_block(const ArchRules& rules, const CheckpointReader& ckpt, StatsHook& stats,
                  const std::map<std::string, const TensorPlan*>& plan_of, DType scale_dtype, ThreadPool& pool,
                  Smoothing& out);

// The model loaded for calibration and the hidden states of its windows.
struct Session {
  std::unique_ptr<BlockModel> model;
  int64_t windows = 0, context = 0, width = 0;
  size_t window_floats = 0;
  std::vector<float> x;  // [windows, context, width]: the state between blocks
  float* window(int64_t w) { return x.data() + size_t(w) * window_floats; }
};

// Checks the options and the model, loads the model, and embeds whole
// windows of `tokens` (at most options.max_tokens, at most max_windows).
Session open_session(const CheckpointReader& ckpt, const std::vector<int32_t>& tokens,
                     const CalibrationOptions& options, int64_t max_windows);

}  // namespace wquant::calibration
