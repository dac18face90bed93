// wquant quantize IN -o OUT [scheme options] [--exclude GLOB]... [--dry-run] [--json]
//                 [--method rtn|mse|gptq] [--calibration TEXT ...] [--report FILE.html]
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "progress.h"
#include "wquant/calibrate/quantize_job.h"
#include "wquant/core/error.h"
#include "wquant/io/checkpoint.h"
#include "wquant/pipeline/plan.h"
#include "wquant/pipeline/report.h"

namespace wquant::cli {
namespace {

struct QuantizeArgs {
  QuantizeJob job;
  bool per_channel = false, asymmetric = false, no_act_order = false;
  bool dry_run = false, json = false, no_progress = false;
};

int run_quantize(QuantizeArgs& a) {
  QuantizeJob& job = a.job;
  job.symmetric = !a.asymmetric;
  job.act_order = !a.no_act_order;
  auto warn = [](const std::string& w) { std::fprintf(stderr, "wquant: warning: %s\n", w.c_str()); };
  if (a.dry_run) {
    if (!job.report_html.empty())
      fail("--report draws the errors of a quantization run: it cannot be combined with --dry-run");
    const auto ckpt = open_checkpoint(job.input);
    const Plan plan = plan_quantize_job(job, *ckpt);
    for (const auto& w : plan.warnings) warn(w);
    if (!job.target_size.empty())
      warn("--dry-run shows the plan before --target-size chooses the schemes (the choice needs the calibration run)");
    if (a.json)
      std::printf("%s\n", plan_json(plan).dump(2).c_str());
    else
      std::printf("%s", format_plan(plan).c_str());
    return 0;
  }
  // One bar per stage (measuring costs, calibrating, writing).
  ProgressBar bar(!a.no_progress);
  std::string stage;
  QuantizeJobCallbacks callbacks;
  callbacks.progress = [&](const std::string& s, size_t done, size_t total, const std::string& what) {
    if (s != stage) bar.finish(), stage = s;
    bar.update(done, total, s == "writing" ? what : s + " " + what);
  };
  callbacks.warning = [&](const std::string& w) {
    bar.finish();
    warn(w);
  };
  const QuantizeReport report = run_quantize_job(job, callbacks);
  bar.finish();
  if (a.json)
    std::printf("%s\n", report_json(report).dump(2).c_str());
  else
    std::printf("%s", format_report(report).c_str());
  return 0;
}

}  // namespace

Command add_quantize_command(CLI::App& app) {
  auto args = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "quantize",
      "Quantize the linear layers of a checkpoint and write a compressed-tensors checkpoint.\n"
      "lm_head and embeddings are kept in float unless --include names them.");
  cmd->add_option("input", args->job.input,
                  "checkpoint: a .safetensors or .gguf file, or a Hugging Face model directory")
      ->required();
  cmd->add_option("-o,--output", args->job.output, "output directory (must not exist, see --force)");
  cmd->add_option("--bits", args->job.bits, "weight bits")->check(CLI::IsMember({2, 3, 4, 8}))
      ->capture_default_str();
  auto* pt = cmd->add_flag("--per-tensor", args->job.per_tensor, "one scale per tensor");
  auto* pc = cmd->add_flag("--per-channel", args->per_channel,
                           "one scale per output channel (the default)");
  auto* gs = cmd->add_option("--group-size", args->job.group_size,
                             "one scale per N consecutive input features")
                 ->check(CLI::PositiveNumber);
  pt->excludes(pc)->excludes(gs);
  pc->excludes(gs);
  cmd->add_flag("--asymmetric", args->asymmetric, "min/max range with a zero-point (default: symmetric)");
  cmd->add_option("--exclude", args->job.exclude, "keep layers matching GLOB in float (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--include", args->job.include,
                  "quantize layers matching GLOB even if excluded by default, e.g. lm_head")
      ->allow_extra_args(false);
  cmd->add_option("--override", args->job.overrides,
                  "GLOB=SCHEME: another scheme for matching layers, e.g. '*.mlp.*=w4-g128-asym'")
      ->allow_extra_args(false);
  cmd->add_option("--dtype", args->job.dtype,
                  "dtype of scales and unquantized tensors: auto|f32|f16|bf16 (auto: as the input)")
      ->capture_default_str();
  cmd->add_option("--method", args->job.method,
                  "rtn: round to nearest on the min/max range (default without --calibration); "
                  "mse: per group, the clipping range and zero-point of least squared error "
                  "(weighted by the inputs' mean x^2 with --calibration); gptq: GPTQ with "
                  "calibration (default with --calibration); awq: AWQ's activation-aware scales "
                  "folded into the previous norm / layer, then mse; awq-gptq: those scales, then GPTQ")
      ->check(CLI::IsMember({"rtn", "mse", "gptq", "awq", "awq-gptq"}));
  cmd->add_option("--calibration", args->job.calibration,
                  "UTF-8 text file to calibrate on: the float model runs over windows of it");
  cmd->add_option("--calibration-tokens", args->job.calibration_tokens,
                  "at most this many calibration tokens (whole windows)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 30))
      ->capture_default_str();
  cmd->add_option("--calibration-context", args->job.calibration_context, "tokens per calibration window")
      ->check(CLI::Range(int64_t(2), int64_t(1) << 20))
      ->capture_default_str();
  cmd->add_option("--tokenizer", args->job.tokenizer,
                  "tokenizer.json or .gguf for the calibration text (default: the model's)");
  cmd->add_option("--damp", args->job.damp, "GPTQ damping, a fraction of the mean diagonal of H")
      ->check(CLI::Range(1e-6, 10.0))
      ->capture_default_str();
  cmd->add_flag("--no-act-order", args->no_act_order,
                "GPTQ: quantize columns in stored order, not by decreasing mean x^2");
  cmd->add_option("--target-size", args->job.target_size,
                  "fit model.safetensors into SIZE: 105.5 or 105.5MB (10^6 bytes), 100MiB, 3.5GB, or 4.5bpw (bits "
                  "per weight of the candidate layers); each layer, token embeddings and lm_head included, "
                  "gets the scheme of --target-schemes that costs least error per byte, measured on "
                  "--calibration (needs it)");
  cmd->add_option("--target-schemes", args->job.target_schemes,
                  "comma-separated schemes --target-size chooses from ('float' keeps a layer unquantized)")
      ->capture_default_str();
  cmd->add_flag("--dry-run", args->dry_run, "print the plan (what is quantized and why) and stop");
  cmd->add_flag("--json", args->json, "print the report as JSON");
  cmd->add_option("--report", args->job.report_html,
                  "also write FILE.html: a self-contained page of charts (footprint, bytes and error per "
                  "layer, one layer's weight-error histogram); not with --dry-run")
      ->type_name("FILE.html");
  cmd->add_option("--report-layer", args->job.report_layer,
                  "the layer whose weight-error histogram --report draws (default: the lowest SQNR)")
      ->type_name("NAME");
  cmd->add_flag("--force", args->job.overwrite, "replace the output directory if it exists");
  cmd->add_flag("--no-progress", args->no_progress, "no progress bar");
  return [args, cmd]() {
    if (!args->dry_run && args->job.output.empty()) fail("quantize: -o/--output is required");
    return run_quantize(*args);
  };
}

}  // namespace wquant::cli
