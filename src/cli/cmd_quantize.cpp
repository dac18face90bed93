// wquant quantize IN -o OUT [scheme options] [--exclude GLOB]... [--dry-run] [--json]
//                 [--method rtn|mse|gptq] [--calibration TEXT ...] [--report FILE.html]
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "model_files.h"
#include "progress.h"
#include "wquant/calibrate/calibrate.h"
#include "wquant/calibrate/target_size.h"
#include "wquant/core/error.h"
#include "wquant/core/sha256.h"
#include "wquant/io/checkpoint.h"
#include "wquant/pipeline/plan.h"
#include "wquant/pipeline/quantize_model.h"
#include "wquant/pipeline/report.h"
#include "wquant/pipeline/report_html.h"
#include "wquant/tokenizer/unicode.h"

namespace wquant::cli {
namespace {

struct QuantizeArgs {
  std::string input, output;
  int bits = 8;
  bool per_tensor = false, per_channel = false, asymmetric = false;
  int64_t group_size = 0;
  std::vector<std::string> exclude, include, overrides;
  std::string dtype = "auto";
  bool dry_run = false, json = false, force = false, no_progress = false;
  std::string method;  // empty: gptq with --calibration, rtn without
  std::string calibration, tokenizer;
  int64_t calibration_tokens = 65536, calibration_context = 512;
  double damp = 0.01;
  bool no_act_order = false;
  std::string target_size, target_schemes = kDefaultBudgetSchemes;
  std::string report_html, report_layer;  // --report, --report-layer
};

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
void check_report_options(const QuantizeArgs& a, const Plan& plan) {
  if (a.report_html.empty()) {
    if (!a.report_layer.empty()) fail("--report-layer ", a.report_layer, " needs --report FILE.html");
    return;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path path(a.report_html);
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec))
    fail(a.report_html, ": cannot write the HTML report: directory ", parent.string(), " does not exist");
  if (fs::is_directory(path, ec)) fail(a.report_html, ": cannot write the HTML report: it is a directory");
  if (a.report_layer.empty()) return;
  for (const auto& t : plan.tensors)
    if (t.quantize && t.layer == a.report_layer) return;
  fail("--report-layer ", a.report_layer, ": not a layer the plan quantizes (see --dry-run)");
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

PlanOptions plan_options(const QuantizeArgs& a, const CheckpointReader& ckpt) {
  PlanOptions o;
  o.scheme.bits = a.bits;
  o.scheme.symmetric = !a.asymmetric;
  if (a.per_tensor) {
    o.scheme.granularity = Granularity::PerTensor;
  } else if (a.group_size > 0) {
    o.scheme.granularity = Granularity::PerGroup;
    o.scheme.group_size = a.group_size;
  } else {
    o.scheme.granularity = Granularity::PerChannel;
  }
  o.scheme.validate();
  o.exclude = a.exclude;
  o.include = a.include;
  for (const auto& spec : a.overrides) {
    const auto eq = spec.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      fail("--override ", spec, ": expected GLOB=SCHEME, e.g. '*.mlp.*=w4-g128'");
    try {
      o.overrides.push_back({spec.substr(0, eq), parse_scheme(spec.substr(eq + 1), o.scheme)});
    } catch (const Error& e) {
      fail("--override ", spec, ": ", e.what());
    }
  }
  o.float_dtype = parse_dtype(a.dtype, ckpt);
  return o;
}

int run_quantize(const QuantizeArgs& a) {
  const auto ckpt = open_checkpoint(a.input);
  const PlanOptions plan_opts = plan_options(a, *ckpt);
  Plan plan = build_plan(*ckpt, plan_opts);
  for (const auto& w : plan.warnings) std::fprintf(stderr, "wquant: warning: %s\n", w.c_str());
  if (a.dry_run) {
    if (!a.report_html.empty())
      fail("--report draws the errors of a quantization run: it cannot be combined with --dry-run");
    if (!a.target_size.empty())
      std::fprintf(stderr, "wquant: warning: --dry-run shows the plan before --target-size chooses the schemes "
                   "(the choice needs the calibration run)\n");
    if (a.json)
      std::printf("%s\n", plan_json(plan).dump(2).c_str());
    else
      std::printf("%s", format_plan(plan).c_str());
    return 0;
  }
  if (plan.quantized_count() == 0)
    fail(a.input, ": no layer selected for quantization (model_type ", plan.rules.model_type,
         "); see --dry-run and --include");
  check_report_options(a, plan);
  const QuantMethod method =
      parse_method(a.method.empty() ? (a.calibration.empty() ? "rtn" : "gptq") : a.method);
  if (method != QuantMethod::Rtn && method != QuantMethod::Mse && a.calibration.empty())
    fail("--method ", method_name(method), " needs --calibration TEXT_FILE (or use --method mse without calibration)");
  if (method == QuantMethod::Rtn && !a.calibration.empty())
    fail("--method rtn uses no calibration: drop --calibration, or choose --method gptq or mse");
  if (!a.target_size.empty() && a.calibration.empty())
    fail("--target-size needs --calibration TEXT_FILE: the layers' schemes are chosen by their error on it");
  const std::vector<BudgetOption> budget_options =
      a.target_size.empty() ? std::vector<BudgetOption>{} : parse_budget_options(a.target_schemes, plan_opts.scheme);
  QuantizeOptions options;
  double calibration_seconds = 0;
  options.method = method == QuantMethod::Mse ? "mse" : "rtn";
  options.recipe = {{"method", method_name(method)}, {"tool", "wquant"}};
  if (!a.calibration.empty()) {
    // Everything that can be refused is checked before the long run.
    const std::string text = read_calibration_text(a.calibration);
    const auto tokenizer = open_tokenizer(a.input, a.tokenizer);
    const std::vector<int32_t> tokens = tokenizer->encode(text, false);
    CalibrationOptions c;
    c.method = method;
    c.context = a.calibration_context;
    c.max_tokens = a.calibration_tokens;
    c.gptq.damp_percent = a.damp;
    c.gptq.act_order = !a.no_act_order;
    c.text_name = a.calibration;
    if (!a.target_size.empty()) {
      ProgressBar cost_bar(!a.no_progress);
      TargetSizeResult fit = fit_to_size(*ckpt, plan, a.target_size, budget_options, tokens, c, kCostWindows, kKlWindows, kKlTokens,
                                         [&](size_t done, size_t total, const std::string& what) {
                                           cost_bar.update(done, total, "measuring costs " + what);
                                         });
      cost_bar.finish();
      plan = std::move(fit.plan);
      options.notes = std::move(fit.notes);
      options.recipe["target_size"] = fit.recipe;
      calibration_seconds += fit.seconds;
    }
    ProgressBar calibration_bar(!a.no_progress);
    CalibrationResult r = calibrate(*ckpt, plan, tokens, c, [&](size_t done, size_t total, const std::string& what) {
      calibration_bar.update(done, total, "calibrating " + what);
    });
    calibration_bar.finish();
    // Planned layers the blocks did not run (lm_head, opt's project_in/out):
    // not calibrated, so quantized with the unweighted mse grid, and said so.
    options.method = "mse";
    std::vector<std::string> outside;
    for (const auto& t : plan.tensors)
      if (t.quantize && !r.layers.count(t.layer)) outside.push_back(t.layer);
    if (!outside.empty()) {
      std::string names;
      for (const auto& n : outside) names += (names.empty() ? "" : ", ") + n;
      std::fprintf(stderr, "wquant: warning: %zu layer(s) outside the transformer blocks are not calibrated "
                   "(quantized with --method mse): %s\n", outside.size(), names.c_str());
    }
    options.precomputed = std::move(r.layers);
    options.tensor_scales = std::move(r.tensor_scales);
    calibration_seconds += r.seconds;
    options.recipe["calibration"] = {
        {"text", std::filesystem::path(a.calibration).filename().string()},
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
  }
  ProgressBar bar(!a.no_progress);
  QuantizeReport report = quantize_checkpoint(
      *ckpt, plan, a.output, a.force, options,
      [&](size_t done, size_t total, const std::string& name) { bar.update(done, total, name); });
  bar.finish();
  report.seconds += calibration_seconds;  // the report's time is the whole job's
  for (const auto& w : report.warnings) std::fprintf(stderr, "wquant: warning: %s\n", w.c_str());
  if (a.json)
    std::printf("%s\n", report_json(report).dump(2).c_str());
  else
    std::printf("%s", format_report(report).c_str());
  if (!a.report_html.empty()) {
    std::fflush(stdout);  // the report, then any error line
    write_report_html(report, a.report_html, a.report_layer);
  }
  return 0;
}

}  // namespace

Command add_quantize_command(CLI::App& app) {
  auto args = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "quantize",
      "Quantize the linear layers of a checkpoint and write a compressed-tensors checkpoint.\n"
      "lm_head and embeddings are kept in float unless --include names them.");
  cmd->add_option("input", args->input,
                  "checkpoint: a .safetensors or .gguf file, or a Hugging Face model directory")
      ->required();
  cmd->add_option("-o,--output", args->output, "output directory (must not exist, see --force)");
  cmd->add_option("--bits", args->bits, "weight bits")->check(CLI::IsMember({2, 3, 4, 8}))
      ->capture_default_str();
  auto* pt = cmd->add_flag("--per-tensor", args->per_tensor, "one scale per tensor");
  auto* pc = cmd->add_flag("--per-channel", args->per_channel,
                           "one scale per output channel (the default)");
  auto* gs = cmd->add_option("--group-size", args->group_size,
                             "one scale per N consecutive input features")
                 ->check(CLI::PositiveNumber);
  pt->excludes(pc)->excludes(gs);
  pc->excludes(gs);
  cmd->add_flag("--asymmetric", args->asymmetric, "min/max range with a zero-point (default: symmetric)");
  cmd->add_option("--exclude", args->exclude, "keep layers matching GLOB in float (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--include", args->include,
                  "quantize layers matching GLOB even if excluded by default, e.g. lm_head")
      ->allow_extra_args(false);
  cmd->add_option("--override", args->overrides,
                  "GLOB=SCHEME: another scheme for matching layers, e.g. '*.mlp.*=w4-g128-asym'")
      ->allow_extra_args(false);
  cmd->add_option("--dtype", args->dtype,
                  "dtype of scales and unquantized tensors: auto|f32|f16|bf16 (auto: as the input)")
      ->capture_default_str();
  cmd->add_option("--method", args->method,
                  "rtn: round to nearest on the min/max range (default without --calibration); "
                  "mse: per group, the clipping range and zero-point of least squared error "
                  "(weighted by the inputs' mean x^2 with --calibration); gptq: GPTQ with "
                  "calibration (default with --calibration); awq: AWQ's activation-aware scales "
                  "folded into the previous norm / layer, then mse; awq-gptq: those scales, then GPTQ")
      ->check(CLI::IsMember({"rtn", "mse", "gptq", "awq", "awq-gptq"}));
  cmd->add_option("--calibration", args->calibration,
                  "UTF-8 text file to calibrate on: the float model runs over windows of it");
  cmd->add_option("--calibration-tokens", args->calibration_tokens,
                  "at most this many calibration tokens (whole windows)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 30))
      ->capture_default_str();
  cmd->add_option("--calibration-context", args->calibration_context, "tokens per calibration window")
      ->check(CLI::Range(int64_t(2), int64_t(1) << 20))
      ->capture_default_str();
  cmd->add_option("--tokenizer", args->tokenizer,
                  "tokenizer.json or .gguf for the calibration text (default: the model's)");
  cmd->add_option("--damp", args->damp, "GPTQ damping, a fraction of the mean diagonal of H")
      ->check(CLI::Range(1e-6, 10.0))
      ->capture_default_str();
  cmd->add_flag("--no-act-order", args->no_act_order,
                "GPTQ: quantize columns in stored order, not by decreasing mean x^2");
  cmd->add_option("--target-size", args->target_size,
                  "fit model.safetensors into SIZE: 105.5 or 105.5MB (10^6 bytes), 100MiB, 3.5GB, or 4.5bpw (bits "
                  "per weight of the candidate layers); each layer, token embeddings and lm_head included, "
                  "gets the scheme of --target-schemes that costs least error per byte, measured on "
                  "--calibration (needs it)");
  cmd->add_option("--target-schemes", args->target_schemes,
                  "comma-separated schemes --target-size chooses from ('float' keeps a layer unquantized)")
      ->capture_default_str();
  cmd->add_flag("--dry-run", args->dry_run, "print the plan (what is quantized and why) and stop");
  cmd->add_flag("--json", args->json, "print the report as JSON");
  cmd->add_option("--report", args->report_html,
                  "also write FILE.html: a self-contained page of charts (footprint, bytes and error per "
                  "layer, one layer's weight-error histogram); not with --dry-run")
      ->type_name("FILE.html");
  cmd->add_option("--report-layer", args->report_layer,
                  "the layer whose weight-error histogram --report draws (default: the lowest SQNR)")
      ->type_name("NAME");
  cmd->add_flag("--force", args->force, "replace the output directory if it exists");
  cmd->add_flag("--no-progress", args->no_progress, "no progress bar");
  return [args, cmd]() {
    if (!args->dry_run && args->output.empty()) fail("quantize: -o/--output is required");
    return run_quantize(*args);
  };
}

}  // namespace wquant::cli
