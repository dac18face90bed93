// The streaming quantization pipeline: checkpoint in, compressed-tensors
// checkpoint directory out. One tensor at a time is read from the (mapped)
// input, quantized and appended to the output file, so peak memory follows
// the largest tensor, not the model.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wquant/io/checkpoint.h"
#include "wquant/pipeline/plan.h"
#include "wquant/quant/metrics.h"
#include "wquant/quant/quantize.h"

namespace wquant {

// A layer quantized before the writer reaches it (by calibration), and what
// the report says of it.
struct PrecomputedLayer {
  QuantizedTensor q;          // [out, in], the plan's scheme for the layer
  std::string method;         // "gptq", "mse"
  double output_error = -1;   // ||(W - Q) X|| / ||W X|| on the calibration inputs; < 0: none
  double damp_percent = 0;    // GPTQ: the damping (fraction of mean diag H) that succeeded
  std::string note;           // e.g. a fallback and why
};

struct QuantizeOptions {
  // How layers without a precomputed result are quantized: "rtn" (min/max
  // round-to-nearest, quantize()) or "mse" (quantize_mse, unweighted).
  std::string method = "rtn";
  // By layer name; each is moved out as it is written.
  std::map<std::string, PrecomputedLayer> precomputed;
  // How the checkpoint was made (method, parameters, calibration text and
  // tokens): written as OUT/recipe.json and into the report. Null: none.
  nlohmann::json recipe;
  // By layer name: appended to the layer's note in the report (--target-size's choice).
  std::map<std::string, std::string> notes;
  // By float tensor name: multipliers, element by element, applied when the
  // tensor is written (AWQ's scales folded into norms and biases). Throws
  // Error if one names a quantized tensor or its size differs.
  std::map<std::string, std::vector<float>> tensor_scales;
};

struct LayerReport {
  std::string layer;
  Shape shape;               // as stored in the input
  QuantScheme scheme;
  std::string method = "rtn";
  double output_error = -1;  // see PrecomputedLayer
  double damp_percent = 0;
  std::string note;
  ErrorStats error;          // dequantized vs original weight
  ErrorHistogram error_histogram;  // of w - dequantized, over [-error.max_abs, error.max_abs]
  uint64_t bytes_before = 0; // the weight in float (see TotalsReport)
  uint64_t bytes_after = 0;  // packed weight + scales + zero-points + shape
};

struct QuantizeReport {
  std::string input, output;
  std::string model_type;     // "generic" when unknown
  bool known_architecture = false;
  DType float_dtype = DType::F32;
  std::vector<LayerReport> layers;
  size_t tensors = 0;
  // Footprint of all tensors: before = every tensor at its float dtype
  // (safetensors: as stored; GGUF block types: at float_dtype); after = the
  // bytes written. input_file_bytes is the size of the input files.
  uint64_t total_before = 0, total_after = 0;
  uint64_t input_file_bytes = 0, output_file_bytes = 0;
  double seconds = 0;
  uint64_t peak_rss_bytes = 0;
  // What the output lacks and why (a GGUF tokenizer that could not be written).
  std::vector<std::string> warnings;
  nlohmann::json recipe;  // QuantizeOptions::recipe
};

// Called after each tensor: (done, total, tensor name).
using ProgressFn = std::function<void(size_t, size_t, const std::string&)>;

// Quantizes `ckpt` following `plan` into the directory `out_dir`
// (model.safetensors, config.json with quantization_config, copies of the
// tokenizer and generation files; for a GGUF input, tokenizer.json and
// tokenizer_config.json built from its vocabulary, or a warning in the
// report if it cannot be expressed so). The directory is written aside and
// renamed into place at the end: on any error nothing is left at out_dir.
// Throws Error naming the file and the problem.
QuantizeReport quantize_checkpoint(const CheckpointReader& ckpt, const Plan& plan,
                                   const std::string& out_dir, bool overwrite,
                                   const ProgressFn& progress = {});
// The same, with a method and precomputed (calibrated) layers; consumes
// options.precomputed. Throws Error if a precomputed layer's shape or scheme
// differs from the plan's.
QuantizeReport quantize_checkpoint(const CheckpointReader& ckpt, const Plan& plan,
                                   const std::string& out_dir, bool overwrite,
                                   QuantizeOptions& options, const ProgressFn& progress = {});

// Returns the bytes tensor t adds to model.safetensors as planned: its data
// (packed tensors when quantized, else float_dtype or its integer type) plus
// a bound on its header entries. The file is at most 64 bytes more than the
// sum over a plan's tensors.
uint64_t planned_tensor_bytes(const CheckpointReader& ckpt, const TensorPlan& t, DType float_dtype);

// Returns the process's peak resident set size in bytes.
uint64_t peak_rss_bytes();

}  // namespace wquant
