// The streaming quantization pipeline: checkpoint in, compressed-tensors
// checkpoint directory out. One tensor at a time is read from the (mapped)
// input, quantized and appended to the output file, so peak memory follows
// the largest tensor, not the model.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wquant/io/checkpoint.h"
#include "wquant/pipeline/plan.h"
#include "wquant/quant/metrics.h"

namespace wquant {

struct LayerReport {
  std::string layer;
  Shape shape;               // as stored in the input
  QuantScheme scheme;
  ErrorStats error;          // dequantized vs original weight
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

// Returns the process's peak resident set size in bytes.
uint64_t peak_rss_bytes();

}  // namespace wquant
