// One quantization job, everything `wquant quantize` does between reading
// its options and printing: open the checkpoint, build the plan, check every
// option that could be refused (before the long run), calibrate (GPTQ, AWQ,
// the weighted mse grid) and fit a target size when asked, write the
// compressed-tensors checkpoint and the HTML report. The CLI and the Python
// package (python/) both fill a QuantizeJob and call run_quantize_job, so
// they accept the same options and refuse them with the same messages.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wquant/calibrate/budget.h"
#include "wquant/io/checkpoint.h"
#include "wquant/pipeline/plan.h"
#include "wquant/pipeline/quantize_model.h"

namespace wquant {

struct QuantizeJob {
  std::string input;   // .safetensors, .gguf, or a model directory
  std::string output;  // directory; must not exist unless overwrite
  bool overwrite = false;
  // The default scheme: bits 2/3/4/8; per output channel unless per_tensor
  // or group_size > 0 (not both).
  int bits = 8;
  bool per_tensor = false;
  int64_t group_size = 0;
  bool symmetric = true;
  std::vector<std::string> exclude, include;  // globs over layer names
  std::vector<std::string> overrides;         // "GLOB=SCHEME", e.g. "*.mlp.*=w4-g128-asym"
  std::string dtype = "auto";                 // scales and float tensors: auto|f32|f16|bf16
  std::string method;                         // rtn|mse|gptq|awq|awq-gptq; "": gptq with calibration, else rtn
  std::string calibration;                    // UTF-8 text file
  std::string tokenizer;                      // for the calibration text ("": the model's)
  int64_t calibration_tokens = 65536, calibration_context = 512;
  double damp = 0.01;
  bool act_order = true;
  std::string target_size;                    // "" or parse_target_size's syntax
  std::string target_schemes = kDefaultBudgetSchemes;
  std::string report_html;                    // "" or a FILE.html to write
  std::string report_layer;                   // its histogram's layer ("": lowest SQNR)
};

struct QuantizeJobCallbacks {
  // A stage's progress: stage is "measuring costs", "calibrating" or
  // "writing"; (done, total, what is being done).
  std::function<void(const std::string& stage, size_t done, size_t total, const std::string& what)> progress;
  // Something the user should read that does not stop the job.
  std::function<void(const std::string& message)> warning;
};

// Returns the default PlanOptions of `job` for `ckpt` (scheme, globs,
// overrides, float dtype). Throws Error naming the bad option.
PlanOptions job_plan_options(const QuantizeJob& job, const CheckpointReader& ckpt);

// Returns the plan the job starts from (what --dry-run prints; --target-size
// changes it later). Throws Error as build_plan and job_plan_options do.
Plan plan_quantize_job(const QuantizeJob& job, const CheckpointReader& ckpt);

// Runs the job. Returns the report (its seconds cover calibration too).
// Throws Error, naming the file or option, for anything refused; every
// option is checked before the first layer is quantized, and on any error
// (an exception thrown by a callback included) nothing is left at
// job.output. The HTML report is written once the checkpoint is in place: if
// that fails, the checkpoint stays and the error names the report's path.
QuantizeReport run_quantize_job(const QuantizeJob& job, const QuantizeJobCallbacks& callbacks = {});

}  // namespace wquant
