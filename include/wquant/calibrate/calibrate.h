// Calibrated quantization: the float model runs over windows of a
// calibration text in wquant's own runtime, every linear layer's input is
// observed (through the models layer's LinearHook, so every architecture the
// runtime runs calibrates without code of its own), and the layers are
// quantized with what was observed:
//   gptq: H = 2 X^T X / n per layer input (gptq.h);
//   mse:  the grid search weighted by the mean x^2 of each input channel,
//         diag(H) / 2 (grid_search.h).
//
// Sequential, one transformer block at a time ("true sequential"): the
// hidden states of all windows before block b are kept; block b runs on
// them once with float weights while its layers' inputs are accumulated,
// its layers are quantized, and it runs again with the quantized weights to
// give the hidden states before block b + 1. So each block is calibrated on
// the inputs the quantized model will really give it. Peak memory: the
// model, the hidden states (windows x context x hidden floats, twice), and
// one block's H matrices (sum over its distinct inputs of in^2 doubles).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "wquant/calibrate/budget.h"
#include "wquant/io/checkpoint.h"
#include "wquant/pipeline/plan.h"
#include "wquant/pipeline/quantize_model.h"
#include "wquant/quant/gptq.h"

namespace wquant {

// awq: AWQ's scales (parts.h, smooth_block) folded into the previous norm or
// linear layer, then the weighted mse grid; awq-gptq: the same scales, then GPTQ.
enum class QuantMethod { Rtn, Mse, Gptq, Awq, AwqGptq };
inline bool uses_gptq(QuantMethod m) { return m == QuantMethod::Gptq || m == QuantMethod::AwqGptq; }
inline bool uses_awq(QuantMethod m) { return m == QuantMethod::Awq || m == QuantMethod::AwqGptq; }

// Returns "rtn", "mse", "gptq", "awq", "awq-gptq".
const char* method_name(QuantMethod method);
// Returns the method called `name`; throws Error listing the methods otherwise.
QuantMethod parse_method(const std::string& name);

struct CalibrationOptions {
  QuantMethod method = QuantMethod::Gptq;
  int64_t context = 512;       // tokens per window
  int64_t max_tokens = 65536;  // at most this many tokens: 128 windows of 512
  std::string text_name = "calibration text";  // named in error messages
  GptqOptions gptq;
};

struct CalibrationResult {
  std::map<std::string, PrecomputedLayer> layers;  // by layer (module) name
  // AWQ: float tensors (norm weights and biases, biases of layers whose
  // outputs were scaled) to multiply element by element when written.
  std::map<std::string, std::vector<float>> tensor_scales;
  int64_t windows = 0, tokens = 0;
  double seconds = 0;
};

// Called as blocks finish: (done, total, what).
using CalibrationProgress = std::function<void(size_t, size_t, const std::string&)>;

// Runs the model of `ckpt` over `tokens` cut into whole windows of
// options.context tokens (at most options.max_tokens of them) and quantizes
// every layer that `plan` quantizes and the blocks run, with
// options.method. Layers outside the blocks (lm_head, embeddings) are left
// to the writer; blocks after the last one holding a planned layer do not run. Throws Error naming the checkpoint if the runtime cannot
// run its model_type (suggesting --method mse without calibration), and
// if the text holds less than one window.
CalibrationResult calibrate(const CheckpointReader& ckpt, const Plan& plan,
                            const std::vector<int32_t>& tokens, const CalibrationOptions& options,
                            const CalibrationProgress& progress = {});

// What --target-size chooses by: for every layer `plan` quantizes, the cost
// (budget.h) of each of `budget`'s options, index for index (-1: the option
// does not fit the layer, a group larger than its inputs), in units of KL
// divergence of the model's output. Measured on the float model (not
// sequential: the choice comes before any layer is quantized), each option
// on the mse grid, cost = factor x relative squared error, where
//   relative squared error, over at most max_windows windows:
//     layers in the blocks: ||(W - Q) X||^2 / ||W X||^2 on their inputs,
//       the grid weighted by the inputs' mean x^2;
//     layers of the head (lm_head, a tied embedding in that role): the
//       same on the final states, unweighted grid (as the writer quantizes);
//     token embeddings as a lookup: the error of their rows weighted by how
//       often the windows use each token (a tied embedding adds both);
//     anything else: the relative squared weight error;
//   factor = KL divergence of the model's output with the layer alone on
//     its probe option (the one of median size) / the probe's relative
//     error, over the first kl_tokens tokens of the first kl_windows windows:
//     measured for the head and
//     the embeddings; in a block, the block's output change with the layer
//     alone on its probe x the KL per output change that all of the block's
//     probes together give (one run to the logits per block, not per layer).
//     Layers with no factor of their own take the median factor.
// Throws Error as calibrate() does.
struct LayerCosts {
  std::map<std::string, std::vector<double>> cost;  // by layer name
  std::map<std::string, double> factor;             // by layer name: KL per relative squared error
  int64_t windows = 0, tokens = 0, kl_windows = 0, kl_tokens = 0;
  double seconds = 0;
};
LayerCosts measure_costs(const CheckpointReader& ckpt, const Plan& plan, const std::vector<int32_t>& tokens,
                         const CalibrationOptions& options, const std::vector<BudgetOption>& budget,
                         int64_t max_windows, int64_t kl_windows, int64_t kl_tokens,
                         const CalibrationProgress& progress = {});

}  // namespace wquant
