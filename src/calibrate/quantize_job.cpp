#include "wquant/calibrate/quantize_job.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <utility>

#include "wquant/calibrate/calibrate.h"
#include "wquant/calibrate/target_size.h"
#include "wquant/core/error.h"
#include "wquant/core/sha256.h"
#include "wquant/io/html_chart.h"
#include "wquant/pipeline/report_html.h"
#include "wquant/tokenizer/tokenizer.h"
#include "wquant/tokenizer/unicode.h"

namespace wquant {
namespace {

// Windows of the calibration text that --target-size measures its costs on
// (relative errors settle long before the 128 windows GPTQ may use).
constexpr int64_t kCostWindows = 8;
// Where the KL divergence each layer's error causes is measured: the first
// 256 tokens of 2 windows (one run to the logits per block and per head
// layer, each window).
constexpr int64_t kKlWindows = 2, kKlTokens = 256;

// Returns the calibration text: the whole file, which must exist, hold
// something and be UTF-8.
std::string read_calibration_text(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail(path, ": calibration text not found (or not a regular file)");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open the calibration text");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    fail(path, ": the calibration text is empty");
  if (const size_t bad = unicode::find_invalid_utf8(text); bad != std::string::npos)
    fail(path, ": the calibration text is not UTF-8 (invalid byte at offset ", bad, ")");
  return text;
}

// Refuses --report / --report-layer values that would only fail after the
// quantization: a missing or non-directory parent, a directory at the path,
// a layer the plan does not quantize.
void check_report_options(const QuantizeJob& job, const Plan& plan) {
  if (job.report_html.empty()) {
    if (!job.report_layer.empty()) fail("--report-layer ", job.report_layer, " needs --report FILE.html");
    return;
  }
  html::check_page_path(job.report_html);
  if (job.report_layer.empty()) return;
  for (const auto& t : plan.tensors)
    if (t.quantize && t.layer == job.report_layer) return;
  fail("--report-layer ", job.report_layer, ": not a layer the plan quantizes (see --dry-run)");
}

// Returns the dtype of most float bytes for safetensors inputs; F16 for
// inputs whose tensors are block-quantized (GGUF), whose scales are f16.
DType auto_float_dtype(const CheckpointReader& ckpt) {
  std::map<DType, uint64_t> bytes;
  for (const auto& t : ckpt.tensors()) {
    if (!is_float(t.dtype)) continue;
    const DType stored = t.stored_type == dtype_name(t.dtype) ? t.dtype : DType::F16;
    bytes[stored == DType::F64 ? DType::F32 : stored] += t.stored_bytes;
  }
  DType best = DType::F32;
  uint64_t most = 0;
  for (const auto& [d, n] : bytes)
    if (n > most) best = d, most = n;
  return best;
}

DType parse_dtype(const std::string& s, const CheckpointReader& ckpt) {
  if (s == "auto") return auto_float_dtype(ckpt);
  if (s == "f32" || s == "float32") return DType::F32;
  if (s == "f16" || s == "float16") return DType::F16;
  if (s == "bf16" || s == "bfloat16") return DType::BF16;
  fail("--dtype ", s, ": expected auto, f32, f16 or bf16");
}

// The method the job runs: --method, else gptq with calibration, rtn without;
// refuses the combinations that cannot run.
QuantMethod job_method(const QuantizeJob& job) {
  const QuantMethod method =
      parse_method(job.method.empty() ? (job.calibration.empty() ? "rtn" : "gptq") : job.method);
  if (method != QuantMethod::Rtn && method != QuantMethod::Mse && job.calibration.empty())
    fail("--method ", method_name(method), " needs --calibration TEXT_FILE (or use --method mse without calibration)");
  if (method == QuantMethod::Rtn && !job.calibration.empty())
    fail("--method rtn uses no calibration: drop --calibration, or choose --method gptq or mse");
  if (!job.target_size.empty() && job.calibration.empty())
    fail("--target-size needs --calibration TEXT_FILE: the layers' schemes are chosen by their error on it");
  return method;
}

// Reports a stage's progress through the callbacks, if any.
CalibrationProgress stage_progress(const QuantizeJobCallbacks& cb, const std::string& stage) {
  if (!cb.progress) return {};
  return [&cb, stage](size_t done, size_t total, const std::string& what) { cb.progress(stage, done, total, what); };
}

void warn(const QuantizeJobCallbacks& cb, const std::string& message) {
  if (cb.warning) cb.warning(message);
}

// Calibrates (and with --target-size first chooses the schemes), filling
// options with the calibrated layers, folded scales and the recipe. Returns
// the seconds spent.
double calibrate_job(const QuantizeJob& job, QuantMethod method, const CheckpointReader& ckpt,
                     const std::vector<BudgetOption>& budget_options, const QuantizeJobCallbacks& cb,
                     Plan& plan, QuantizeOptions& options) {
  // Everything that can be refused is checked before the long run.
  const std::string text = read_calibration_text(job.calibration);
  const auto tokenizer = open_tokenizer(job.input, job.tokenizer);
  const std::vector<int32_t> tokens = tokenizer->encode(text, false);
  CalibrationOptions c;
  c.method = method;
  c.context = job.calibration_context;
  c.max_tokens = job.calibration_tokens;
  c.gptq.damp_percent = job.damp;
  c.gptq.act_order = job.act_order;
  c.text_name = job.calibration;
  double seconds = 0;
  if (!job.target_size.empty()) {
    TargetSizeResult fit = fit_to_size(ckpt, plan, job.target_size, budget_options, tokens, c, kCostWindows,
                                       kKlWindows, kKlTokens, stage_progress(cb, "measuring costs"));
    plan = std::move(fit.plan);
    options.notes = std::move(fit.notes);
    options.recipe["target_size"] = fit.recipe;
    seconds += fit.seconds;
  }
  CalibrationResult r = calibrate(ckpt, plan, tokens, c, stage_progress(cb, "calibrating"));
  // Planned layers the blocks did not run (lm_head, opt's project_in/out):
  // not calibrated, so quantized with the unweighted mse grid, and said so.
  options.method = "mse";
  std::vector<std::string> outside;
  for (const auto& t : plan.tensors)
    if (t.quantize && !r.layers.count(t.layer)) outside.push_back(t.layer);
  if (!outside.empty()) {
    std::string names;
    for (const auto& n : outside) names += (names.empty() ? "" : ", ") + n;
    warn(cb, std::to_string(outside.size()) + " layer(s) outside the transformer blocks are not calibrated "
                 "(quantized with --method mse): " + names);
  }
  options.precomputed = std::move(r.layers);
  options.tensor_scales = std::move(r.tensor_scales);
  seconds += r.seconds;
  options.recipe["calibration"] = {{"text", std::filesystem::path(job.calibration).filename().string()},
                                   {"text_sha256", sha256_hex(text)},
                                   {"text_tokens", tokens.size()},
                                   {"tokens", r.tokens},
                                   {"windows", r.windows},
                                   {"context", c.context},
                                   {"seconds", r.seconds}};
  if (uses_awq(method))
    options.recipe["awq"] = {{"scales", "s = rms(x)^alpha per input channel, normalised"},
                             {"alpha", "searched over 0, 0.1, ..., 0.9 by the pair's summed output error"},
                             {"pairs", "the model_type's smoothing rules (arch_rules.cpp); per layer in the report"},
                             {"folded_tensors", options.tensor_scales.size()}};
  if (uses_gptq(method))
    options.recipe["gptq"] = {{"damp_percent", c.gptq.damp_percent},
                              {"block_size", c.gptq.block_size},
                              {"act_order", c.gptq.act_order},
                              {"grid", "mse weighted by mean x^2 per input channel"},
                              {"sequential", "per block, quantized outputs feed the next"}};
  return seconds;
}

}  // namespace

PlanOptions job_plan_options(const QuantizeJob& job, const CheckpointReader& ckpt) {
  if (job.per_tensor && job.group_size > 0)
    fail("--per-tensor and --group-size ", job.group_size, " exclude each other");
  if (job.group_size < 0) fail("--group-size ", job.group_size, ": expected a positive number");
  PlanOptions o;
  o.scheme.bits = job.bits;
  o.scheme.symmetric = job.symmetric;
  if (job.per_tensor) {
    o.scheme.granularity = Granularity::PerTensor;
  } else if (job.group_size > 0) {
    o.scheme.granularity = Granularity::PerGroup;
    o.scheme.group_size = job.group_size;
  } else {
    o.scheme.granularity = Granularity::PerChannel;
  }
  o.scheme.validate();
  o.exclude = job.exclude;
  o.include = job.include;
  for (const auto& spec : job.overrides) {
    const auto eq = spec.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      fail("--override ", spec, ": expected GLOB=SCHEME, e.g. '*.mlp.*=w4-g128'");
    try {
      o.overrides.push_back({spec.substr(0, eq), parse_scheme(spec.substr(eq + 1), o.scheme)});
    } catch (const Error& e) {
      fail("--override ", spec, ": ", e.what());
    }
  }
  o.float_dtype = parse_dtype(job.dtype, ckpt);
  return o;
}

Plan plan_quantize_job(const QuantizeJob& job, const CheckpointReader& ckpt) {
  return build_plan(ckpt, job_plan_options(job, ckpt));
}

QuantizeReport run_quantize_job(const QuantizeJob& job, const QuantizeJobCallbacks& cb) {
  if (job.output.empty()) fail("quantize: the output directory is required (-o/--output)");
  const auto ckpt = open_checkpoint(job.input);
  const PlanOptions plan_opts = job_plan_options(job, *ckpt);
  Plan plan = build_plan(*ckpt, plan_opts);
  for (const auto& w : plan.warnings) warn(cb, w);
  if (plan.quantized_count() == 0)
    fail(job.input, ": no layer selected for quantization (model_type ", plan.rules.model_type,
         "); see --dry-run and --include");
  check_report_options(job, plan);
  const QuantMethod method = job_method(job);
  const std::vector<BudgetOption> budget_options =
      job.target_size.empty() ? std::vector<BudgetOption>{} : parse_budget_options(job.target_schemes, plan_opts.scheme);
  QuantizeOptions options;
  options.method = method == QuantMethod::Mse ? "mse" : "rtn";
  options.recipe = {{"method", method_name(method)}, {"tool", "wquant"}};
  double calibration_seconds = 0;
  if (!job.calibration.empty())
    calibration_seconds = calibrate_job(job, method, *ckpt, budget_options, cb, plan, options);
  QuantizeReport report = quantize_checkpoint(*ckpt, plan, job.output, job.overwrite, options,
                                              stage_progress(cb, "writing"));
  report.seconds += calibration_seconds;  // the report's time is the whole job's
  for (const auto& w : report.warnings) warn(cb, w);
  if (!job.report_html.empty()) write_report_html(report, job.report_html, job.report_layer);
  return report;
}

}  // namespace wquant
