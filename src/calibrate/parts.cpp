#include "parts.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "wquant/core/error.h"
#include "wquant/quant/grid_search.h"

namespace wquant::calibration {

// Returns ||(W - Q) X|| / ||W X|| = sqrt(tr(D H D^T) / tr(W H W^T)),
// D = W - dequantize(q): gptq.h's relative_output_error, with the products
// H d_r on the kernels' matmul (H rounded to f32: a figure for the report,
// not an input to anything). Independent of the thread count.
double quadratic_form(const std::vector<float>& d, int64_t rows, int64_t cols, const std::vector<float>& h,
                      ThreadPool& pool) {
  std::vector<float> hd(size_t(rows * cols));
  const WeightMatrix hm = FloatMatrixView{DType::F32, cols, cols, h.data()};
  matmul(hm, d.data(), DType::F32, rows, nullptr, hd.data(), pool);
  double total = 0;
  for (size_t i = 0; i < d.size(); ++i) total += double(d[i]) * double(hd[i]);
  return total;
}

double output_error(const std::vector<float>& w, const QuantizedTensor& q,
                    const std::vector<double>& h, ThreadPool& pool) {
  const int64_t rows = q.rows, cols = q.cols;
  const std::vector<float> hf(h.begin(), h.end());
  std::vector<float> d = dequantize(q);
  for (size_t i = 0; i < d.size(); ++i) d[i] = w[i] - d[i];
  const double e = quadratic_form(d, rows, cols, hf, pool), s = quadratic_form(w, rows, cols, hf, pool);
  return s > 0 ? std::sqrt(std::max(0.0, e) / s) : 0.0;
}

// Returns w [rows, cols] on grid_search.h's error-minimising grid, columns
// weighted by importance (nullptr: alike); rows split over the pool.
QuantizedTensor mse_grid(const std::vector<float>& w, int64_t rows, int64_t cols, const QuantScheme& scheme,
                         DType scale_dtype, const float* importance, ThreadPool& pool) {
  QuantizedTensor q = mse_output_for(rows, cols, scheme);
  if (scheme.granularity == Granularity::PerTensor)
    quantize_mse_rows(w.data(), rows, cols, scheme, scale_dtype, importance, 0, rows, q);
  else
    pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
      quantize_mse_rows(w.data(), rows, cols, scheme, scale_dtype, importance, r0, r1, q);
    }, 8);
  return q;
}

InputQuantities input_quantities(const InputStats& stats, const CalibrationOptions& options,
                                 ThreadPool& pool) {
  const int64_t cols = stats.in;
  InputQuantities q;
  q.h.resize(stats.xtx.size());
  for (size_t i = 0; i < q.h.size(); ++i) q.h[i] = 2.0 * stats.xtx[i] / double(stats.tokens);
  q.importance.resize(size_t(cols));
  for (int64_t c = 0; c < cols; ++c) q.importance[size_t(c)] = float(q.h[size_t(c * cols + c)] / 2.0);
  if (uses_gptq(options.method))
    q.factor = gptq_factor(q.h.data(), cols, options.gptq,
                           [&](int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
                             pool.parallel_for(n, fn, 32);
                           });
  return q;
}

// Checks the options and the model, loads the model, and embeds whole
// windows of `tokens` (at most options.max_tokens, at most max_windows).
Session open_session(const CheckpointReader& ckpt, const std::vector<int32_t>& tokens,
                     const CalibrationOptions& options, int64_t max_windows) {
  if (options.method == QuantMethod::Rtn)
    fail("calibrate: rtn uses no calibration (drop --calibration, or choose --method mse or gptq)");
  if (options.context < 2) fail("--calibration-context ", options.context, ": must be at least 2");
  const int64_t usable = std::min<int64_t>(int64_t(tokens.size()), std::max<int64_t>(options.max_tokens, 0));
  const int64_t windows = usable / options.context;
  if (windows < 1)
    fail(options.text_name, ": ", usable, " tokens",
         usable < int64_t(tokens.size()) ? " allowed by --calibration-tokens" : "",
         ", less than one window of ", options.context, " (--calibration-context)");
  const std::string type = ckpt.model_type();
  const auto runnable = supported_block_models();
  if (std::find(runnable.begin(), runnable.end(), type) == runnable.end()) {
    std::string list;
    for (const auto& s : runnable) list += (list.empty() ? "" : ", ") + s;
    fail(ckpt.path(), ": --method ", method_name(options.method), " --calibration runs the model, and model_type '",
         type, "' cannot be run (supported: ", list, "); use --method mse without --calibration");
  }
  Session s;
  s.model = load_block_model(ckpt, options.context);
  if (s.model->window_limit() < options.context)
    fail(ckpt.path(), ": --calibration-context ", options.context, " exceeds the model's context of ",
         s.model->window_limit());
  s.windows = std::min(windows, max_windows);
  s.context = options.context;
  s.width = s.model->hidden_width();
  s.window_floats = size_t(s.context * s.width);
  s.x.resize(size_t(s.windows) * s.window_floats);
  for (int64_t w = 0; w < s.windows; ++w)
    s.model->embed_window(tokens.data() + w * s.context, s.context, s.window(w));
  return s;
}

}  // namespace wquant::calibration
